package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// Two engines sharing a store: a change on one shows on the other; a
// change built on stale rules loses to the one stored first; a document
// signed under another secret is refused.
func TestFleetSharesLiveRules(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, "")
	mk := func(secret string) (*Engine, *Fleet) {
		e := NewEngine(zaptest.NewLogger(t), nil, nil)
		if err := e.Update(cfg); err != nil {
			t.Fatal(err)
		}
		f, err := e.ShareLive(redis.NewClient(&redis.Options{Addr: srv.Addr()}), []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return e, f
	}
	a, _ := mk("s3cret")
	b, _ := mk("s3cret")
	if _, code, err := a.change([]byte(`{name: x, when: 'request.path == "/x"', action: deny}`), false, "ops"); err != nil {
		t.Fatalf("%d %v", code, err)
	}
	testutil.WaitFor(t, 2*time.Second, func() bool { return len(b.Current().Rules()) == 1 }, "b does not take a's rule")
	// b and c both build on version 1; c stores first, b's change loses.
	c, _ := mk("s3cret")
	testutil.WaitFor(t, 2*time.Second, func() bool { return len(c.Current().Rules()) == 1 }, "c does not take a's rule")
	c.mu.Lock()
	b.mu.Lock()
	errC := c.commit(c.version+1, nil)
	errB := b.commit(b.version+1, append(b.live, LiveRule{}))
	b.mu.Unlock()
	c.mu.Unlock()
	if errC != nil || errB == nil || !strings.Contains(errB.Error(), "first") {
		t.Fatalf("c: %v, b: %v", errC, errB)
	}
	testutil.WaitFor(t, 2*time.Second, func() bool { return a.Current().Empty() && b.Current().Empty() }, "a and b do not take c's removal")
	// A document signed under another secret, however new, is not taken.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	mallory := &Fleet{e: a, rdb: rdb, secret: []byte("other"), log: a.log}
	if err := mallory.publish(100, []LiveRule{{Rule: config.Rule{Name: "y", When: "true", Action: "deny"}, Version: 100}}); err != nil {
		t.Fatal(err)
	}
	fa := &Fleet{e: a, rdb: rdb, secret: []byte("s3cret"), log: a.log}
	fa.poll()
	if !a.Current().Empty() {
		t.Fatal("a took a rule signed under another secret")
	}
}
