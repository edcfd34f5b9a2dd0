package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
)

// Two engines sharing a store: a change on one shows on the other; a
// change built on stale rules loses to the one stored first; a document
// signed under another secret is refused.
func TestFleetSharesLiveRules(t *testing.T) {
	srv := redistest.Start(t)
	testFleetShares(t, func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr()}) })
}

// The same on a Redis Cluster (3 primaries, 3 replicas) and under
// Sentinel, through the limit store's own client: the rules' keys share
// one hash slot, so the compare-and-set script runs on a cluster.
func TestFleetSharesLiveRulesCluster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	store := &config.LimitStore{URL: cl.URL(), Cluster: true}
	rdb := storeClient(t, store)
	defer rdb.Close()
	ctx := context.Background()
	live, err1 := rdb.ClusterKeySlot(ctx, keyLive).Result()
	version, err2 := rdb.ClusterKeySlot(ctx, keyVersion).Result()
	if err1 != nil || err2 != nil || live != version {
		t.Fatalf("rules' keys in slots %d and %d (%v, %v)", live, version, err1, err2)
	}
	clearRules(t, rdb)
	testFleetShares(t, func() redis.UniversalClient { return storeClient(t, store) })
}

func TestFleetSharesLiveRulesSentinel(t *testing.T) {
	sg := redistest.SharedSentinels(t)
	store := &config.LimitStore{Sentinel: &config.Sentinel{MasterName: redistest.MasterName, Addrs: sg.Addrs()}}
	rdb := storeClient(t, store)
	defer rdb.Close()
	clearRules(t, rdb)
	testFleetShares(t, func() redis.UniversalClient { return storeClient(t, store) })
}

// storeClient is the limit store's client for c, as the router makes it.
func storeClient(t *testing.T, c *config.LimitStore) redis.UniversalClient {
	t.Helper()
	rdb, err := redisstore.NewClient(c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return rdb
}

// clearRules deletes the live rules a shared store kept from an earlier
// test or run.
func clearRules(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Del(ctx, keyLive, keyVersion).Err(); err != nil {
		t.Fatal(err)
	}
}

func testFleetShares(t *testing.T, client func() redis.UniversalClient) {
	cfg := loadConfig(t, "")
	mk := func(secret string) (*Engine, *Fleet) {
		e := NewEngine(zaptest.NewLogger(t), nil, nil)
		if err := e.Update(cfg); err != nil {
			t.Fatal(err)
		}
		f, err := e.ShareLive(client(), []byte(secret))
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
	rdb := client()
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
