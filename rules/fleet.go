package rules

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// FleetPoll is how often a router reads the fleet's live rules: a change
// made on one router applies on every other within it (plus a round trip).
const FleetPoll = 250 * time.Millisecond

// maxLiveDoc bounds the live rules' document read from the store.
const maxLiveDoc = 4 << 20

// liveDoc is the live rules as the store holds them.
type liveDoc struct {
	Version uint64     `json:"version"`
	Rules   []LiveRule `json:"rules"`
}

// Fleet shares an Engine's live rules through the limit store. Documents
// are signed with HMAC under the fleet's secret, and a router applies only
// those whose signature holds: write access to Redis alone cannot add a
// rule. Close stops its goroutine.
type Fleet struct {
	e      *Engine
	rdb    redis.UniversalClient
	secret []byte
	log    *zap.Logger
	stop   chan struct{}
	done   chan struct{}
}

// ShareLive starts sharing e's live rules through rdb (which the Fleet
// closes) under secret, which must not be empty.
func (e *Engine) ShareLive(rdb redis.UniversalClient, secret []byte) (*Fleet, error) {
	if len(secret) == 0 {
		return nil, errors.New("live rules are shared only under a secret (abuse.key_secret_file)")
	}
	f := &Fleet{e: e, rdb: rdb, secret: append([]byte(nil), secret...), log: e.log.Named("fleet"),
		stop: make(chan struct{}), done: make(chan struct{})}
	e.mu.Lock()
	e.share = f.publish
	e.mu.Unlock()
	f.poll()
	go f.run()
	return f, nil
}

// Close stops sharing.
func (f *Fleet) Close() error {
	f.e.mu.Lock()
	f.e.share = nil
	f.e.mu.Unlock()
	close(f.stop)
	<-f.done
	return f.rdb.Close()
}

func (f *Fleet) run() {
	defer close(f.done)
	t := time.NewTicker(FleetPoll)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.poll()
		}
	}
}

func (f *Fleet) sign(doc []byte) string {
	m := hmac.New(sha256.New, f.secret)
	m.Write(doc)
	return hex.EncodeToString(m.Sum(nil))
}

// publishScript stores a document only over an older one: KEYS[1] the
// document, KEYS[2] its version; ARGV[1] the new version, ARGV[2] the
// document. It returns 0 when the store holds that version or a newer one.
var publishScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) <= v then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1`)

// errConflict: another router changed the live rules first.
var errConflict = errors.New("another router changed the live rules first; try again in a second")

// publish stores a change made here before it applies: a change another
// router stored first wins, and this one fails. Called with the engine's
// mu held: the admin request waits for the store.
func (f *Fleet) publish(version uint64, live []LiveRule) error {
	doc, err := json.Marshal(liveDoc{Version: version, Rules: live})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := publishScript.Run(ctx, f.rdb, []string{keyLive, keyVersion}, version, f.sign(doc)+" "+string(doc)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("the limit store cannot take the change: %w", err)
	case n == 0:
		return errConflict // the poll catches up within FleetPoll
	}
	return nil
}

// poll reads the fleet's live rules and applies them when they are newer
// than this router's and their signature holds.
func (f *Fleet) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b, err := f.rdb.Get(ctx, keyLive).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			f.log.Debug("live rules not read", zap.Error(err))
		}
		return
	}
	doc, ok := f.verify(b)
	if !ok {
		f.log.Warn("live rules in the store refused: bad signature or document")
		return
	}
	if err := f.e.applyShared(doc.Version, doc.Rules); err != nil {
		f.log.Warn("live rules from the store refused", zap.Error(err))
	}
}

func (f *Fleet) verify(b []byte) (liveDoc, bool) {
	var d liveDoc
	sig, doc, ok := bytes.Cut(b, []byte(" "))
	if !ok || len(b) > maxLiveDoc || !hmac.Equal([]byte(f.sign(doc)), sig) {
		return d, false
	}
	if json.Unmarshal(doc, &d) != nil {
		return d, false
	}
	return d, true
}

// applyShared takes live rules another router published, when newer than
// this engine's. Each is validated as if posted here.
func (e *Engine) applyShared(version uint64, live []LiveRule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if version <= e.version || e.cfg == nil {
		return nil
	}
	var ok []LiveRule
	for _, lr := range live {
		b, _ := json.Marshal(lr.Rule) // without its ttl: lr.Expires holds the end
		if _, err := e.cfg.ParseRule(b); err != nil {
			e.log.Warn("shared live rule left out", zap.String("rule", lr.Name), zap.Error(err))
			continue
		}
		ok = append(ok, lr)
	}
	e.version, e.live = version, ok
	return e.rebuild()
}
