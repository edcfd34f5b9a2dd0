package redisstore

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
)

func newStoreCfg(t testing.TB, c *config.LimitStore) *Store {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = config.Duration(250 * time.Millisecond)
	}
	s, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// takeAll runs a bucket of burst 3 (client) under a network bucket of
// burst 4 across many clients: on a cluster every pair must land in one
// slot (no CROSSSLOT error) and answer as on one server.
func takeAll(t *testing.T, s *Store) {
	iv := int64(time.Second)
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // shared servers outlive a run
	for i := range 20 {
		n := Bucket{Key: run + "-network:10." + strconv.Itoa(i) + ".0.0/24", Interval: iv, Tolerance: 4 * iv}
		c := Bucket{Key: run + ":10." + strconv.Itoa(i) + ".0.1", Interval: iv, Tolerance: 3 * iv}
		for j, want := range []bool{true, true, true, false} {
			r, err := s.Take(c, n)
			if err != nil {
				t.Fatalf("client %d take %d: %v", i, j, err)
			}
			if r.Allowed != want {
				t.Fatalf("client %d take %d: %+v", i, j, r)
			}
		}
		c2 := Bucket{Key: run + ":10." + strconv.Itoa(i) + ".0.2", Interval: iv, Tolerance: 3 * iv}
		if r, err := s.Take(c2, n); err != nil || !r.Allowed {
			t.Fatalf("client %d's neighbour: %+v, %v", i, r, err)
		}
		if r, err := s.Take(c2, n); err != nil || r.Allowed || !r.Net {
			t.Fatalf("client %d's network: %+v, %v", i, r, err)
		}
	}
}

func TestClusterTake(t *testing.T) {
	cl := redistest.SharedCluster(t)
	s := newStoreCfg(t, &config.LimitStore{URL: cl.URL(), Cluster: true})
	takeAll(t, s)
	if s.Errors() != 0 {
		t.Fatalf("errors %d", s.Errors())
	}
}

func TestSentinelTake(t *testing.T) {
	sg := redistest.SharedSentinels(t)
	s := newStoreCfg(t, &config.LimitStore{Sentinel: &config.Sentinel{MasterName: redistest.MasterName, Addrs: sg.Addrs()}})
	takeAll(t, s)
	if s.Errors() != 0 {
		t.Fatalf("errors %d", s.Errors())
	}
}

// TestClusterBans: bans announced on a cluster reach a watching store, and
// a store that starts later reads them from the ban keys of every primary.
func TestClusterBans(t *testing.T) {
	cl := redistest.SharedCluster(t)
	cfg := func() *config.LimitStore { return &config.LimitStore{URL: cl.URL(), Cluster: true} }
	a, b := newStoreCfg(t, cfg()), newStoreCfg(t, cfg())
	got := make(chan Ban, 64)
	b.Watch(func(x Ban) { got <- x })
	waitUp := time.Now().Add(10 * time.Second)
	clients := []string{"192.0.2.1", "192.0.2.2", "198.51.100.9", "2001:db8::", "203.0.113.4", "203.0.113.5"}
	seen := map[string]bool{}
	for len(seen) < len(clients) && time.Now().Before(waitUp) {
		// Announce until the subscription is in place (the first may
		// precede it), then each client is seen once at least.
		for _, c := range clients {
			if !seen[c] {
				a.ShareBan(c, time.Minute, 1, c == "192.0.2.2")
			}
		}
		select {
		case x := <-got:
			seen[x.Client] = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(seen) < len(clients) {
		t.Fatalf("watcher saw %v", seen)
	}
	c := newStoreCfg(t, cfg())
	var mu sync.Mutex
	late := map[string]Ban{}
	done := make(chan struct{})
	c.Watch(func(x Ban) {
		mu.Lock()
		defer mu.Unlock()
		late[x.Client] = x
		if len(late) == len(clients) {
			close(done)
			late["done"] = Ban{}
		}
	})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("late watcher caught up on %d of %d", len(late), len(clients))
	}
	mu.Lock()
	defer mu.Unlock()
	if x := late["192.0.2.2"]; !x.Auth || x.Level != 1 || x.For <= 0 || x.For > time.Minute {
		t.Fatalf("caught-up ban %+v", x)
	}
}
