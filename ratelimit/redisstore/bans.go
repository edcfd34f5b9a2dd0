package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Announcements on banChannel: "b <from> <ms> <level> <auth 0|1> <client>"
// for a ban lasting ms from its arrival, "l <from> <client>" for a lift.
// A ban key clientKey(banPrefix, client) holds "<level> <auth>" with the ban's TTL.

// ShareBan announces a ban made by this router. It never blocks: the
// announcement is written by the store's writer goroutine (dropped, and
// counted as an error, when 1024 are already waiting).
func (s *Store) ShareBan(client string, d time.Duration, level int, auth bool) {
	a := "0"
	if auth {
		a = "1"
	}
	ms := max(d.Milliseconds(), 1)
	s.enqueue("b " + s.id + " " + strconv.FormatInt(ms, 10) + " " + strconv.Itoa(level) + " " + a + " " + client)
}

// ShareLift announces that client's ban was lifted here.
func (s *Store) ShareLift(client string) { s.enqueue("l " + s.id + " " + client) }

func (s *Store) enqueue(msg string) {
	select {
	case s.out <- msg:
	default:
		s.fail(errQueueFull)
	}
}

type queueError struct{}

func (queueError) Error() string { return "redisstore: ban announcement queue full" }

var errQueueFull error = queueError{}

// write sends announcements until Close.
func (s *Store) write() {
	defer s.wg.Done()
	// Load the script ahead of the first decision (a server that is down
	// now gets it with the first decision after it comes back).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	takeScript.Load(ctx, s.rdb)
	cancel()
	for {
		select {
		case <-s.stop:
			return
		case msg := <-s.out:
			if err := s.send(msg); err != nil {
				s.fail(err)
			}
		}
	}
}

func (s *Store) send(msg string) error {
	f := strings.Fields(msg)
	if isCount(msg) {
		return s.sendCount(f)
	}
	if isRep(msg) {
		return s.sendRep(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	// A ban or a lift resets the client's counts toward a ban, and a ban
	// its standing. The keys share the client's slot; the announcement
	// goes to every node.
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		switch f[0] {
		case "b":
			ms, _ := strconv.ParseInt(f[2], 10, 64)
			p.Set(ctx, clientKey(banPrefix, f[5]), f[3]+" "+f[4], time.Duration(ms)*time.Millisecond)
			p.Del(ctx, clientKey(strikePrefix, f[5]), clientKey(authPrefix, f[5]), RepKey(f[5]))
		case "l":
			p.Del(ctx, clientKey(banPrefix, f[2]), clientKey(strikePrefix, f[2]), clientKey(authPrefix, f[2]))
		}
		p.Publish(ctx, banChannel, msg)
		return nil
	})
	return err
}

// Watch starts applying other routers' bans and lifts with apply, until
// Close. apply runs on the watcher goroutine, one call at a time. After
// each (re)subscription the ban keys are read, so bans announced while this
// router was cut off from Redis arrive too. Call it at most once.
func (s *Store) Watch(apply func(Ban)) {
	if !s.watching.CompareAndSwap(false, true) {
		return
	}
	s.subscribe(banChannel, func() { s.catchUp(apply) }, func(payload string) {
		if b, ok := s.parse(payload); ok {
			apply(b)
		}
	})
}

// parse decodes an announcement from another router.
func (s *Store) parse(msg string) (Ban, bool) {
	f := strings.Fields(msg)
	switch {
	case len(f) == 6 && f[0] == "b" && f[1] != s.id:
		ms, err1 := strconv.ParseInt(f[2], 10, 64)
		level, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || ms <= 0 {
			return Ban{}, false
		}
		return Ban{Client: f[5], For: time.Duration(ms) * time.Millisecond, Level: level, Auth: f[4] == "1"}, true
	case len(f) == 3 && f[0] == "l" && f[1] != s.id:
		return Ban{Client: f[2]}, true
	}
	return Ban{}, false
}

// catchUp applies every ban key in the store (on every primary of a
// cluster).
func (s *Store) catchUp(apply func(Ban)) {
	s.forEachKey(banPrefix, func(key, val string, ttl time.Duration) {
		var level, auth int
		if f := strings.Fields(val); len(f) == 2 {
			level, _ = strconv.Atoi(f[0])
			auth, _ = strconv.Atoi(f[1])
		}
		apply(Ban{Client: untag(banPrefix, key), For: ttl, Level: level, Auth: auth == 1})
	})
}
