package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reputation standing, shared by the fleet without a round trip on the
// request path: a router writes a client's standing when the client earns
// it (ShareRep, through the writer goroutine) and asks for it once, when it
// first sees the client (AskRep, answered on a goroutine of the store).
// The standing is the hash RepKey(client): "first" (unix seconds), "good",
// "flags", kept for RepTTL after it was last written. A ban (ShareBan)
// deletes it: the client's standing starts over everywhere.

// RepTTL is how long a written standing stays in the store.
const RepTTL = 24 * time.Hour

// Rep is a client's standing as the store keeps it.
type Rep struct {
	First time.Time // first seen (whole seconds)
	Good  uint8     // good answers
	Flags uint8     // the reputation's flags (ratelimit's to read)
}

// ShareRep writes client's standing r. It never blocks (the writer
// goroutine sends it; dropped, and counted as busy, when 1024 messages
// wait).
func (s *Store) ShareRep(client string, r Rep) {
	s.enqueue("r " + strconv.FormatInt(r.First.Unix(), 10) + " " + strconv.Itoa(int(r.Good)) + " " +
		strconv.Itoa(int(r.Flags)) + " " + client)
}

// sendRep runs an "r FIRST GOOD FLAGS CLIENT" message.
func (s *Store) sendRep(f []string) error {
	if len(f) != 5 || s.circ.open(s.now()) {
		return nil // best effort: nothing while the store is down
	}
	return s.SetRep(f[4], map[string]string{"first": f[1], "good": f[2], "flags": f[3]}, RepTTL)
}

// isRep reports whether msg is a standing message.
func isRep(msg string) bool { return strings.HasPrefix(msg, "r ") }

// repAsk is one AskRep: replace says the answer is to replace what the
// router holds (it came from its state file) rather than add to it.
type repAsk struct {
	client  string
	replace bool
}

// OnRep sets what receives the answers to AskRep: a client's standing
// when the store holds one (nothing otherwise), on a goroutine the store
// owns, one call at a time, until Close. Call it once, before AskRep.
func (s *Store) OnRep(got func(client string, r Rep, replace bool)) {
	s.repGot = got
	s.repAsks = make(chan repAsk, 1024)
	s.wg.Add(1)
	go s.repReader()
}

// AskRep asks for client's standing. It never blocks: when 1024 asks wait,
// or the store is down, the ask is dropped (the client starts on this
// router with what this router knows).
func (s *Store) AskRep(client string, replace bool) {
	if s.repAsks == nil {
		return
	}
	select {
	case s.repAsks <- repAsk{client, replace}:
	default:
	}
}

// AskReps asks for each client's standing, to replace what the router
// holds, from a goroutine of the store: it waits for room in the queue,
// never drops (a router's state file is read once, at start).
func (s *Store) AskReps(clients []string) {
	if s.repAsks == nil || len(clients) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, c := range clients {
			select {
			case s.repAsks <- repAsk{c, true}:
			case <-s.stop:
				return
			}
		}
	}()
}

// repReader answers asks, up to maxBatch per round trip, until Close.
func (s *Store) repReader() {
	defer s.wg.Done()
	asks := make([]repAsk, 0, maxBatch)
	for {
		select {
		case <-s.stop:
			return
		case a := <-s.repAsks:
			asks = append(asks[:0], a)
		}
	more:
		for len(asks) < maxBatch {
			select {
			case a := <-s.repAsks:
				asks = append(asks, a)
			default:
				break more
			}
		}
		s.readReps(asks)
	}
}

// readReps reads asks' standings in one pipeline and hands over those
// the store holds.
func (s *Store) readReps(asks []repAsk) {
	cmds := make([]*redis.MapStringStringCmd, len(asks))
	err := s.do(func(ctx context.Context) error {
		p := s.rdb.Pipeline()
		for i, a := range asks {
			cmds[i] = p.HGetAll(ctx, RepKey(a.client))
		}
		_, err := p.Exec(ctx)
		return err
	})
	if err != nil {
		return
	}
	for i, a := range asks {
		if r, ok := parseRep(cmds[i].Val()); ok {
			s.repGot(a.client, r, a.replace)
		}
	}
}

// parseRep decodes a stored standing.
func parseRep(m map[string]string) (Rep, bool) {
	first, err1 := strconv.ParseInt(m["first"], 10, 64)
	good, err2 := strconv.ParseUint(m["good"], 10, 8)
	flags, err3 := strconv.ParseUint(m["flags"], 10, 8)
	if err1 != nil || err2 != nil || err3 != nil || first <= 0 {
		return Rep{}, false
	}
	return Rep{First: time.Unix(first, 0), Good: uint8(good), Flags: uint8(flags)}, true
}
