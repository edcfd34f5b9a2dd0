package redisstore

import (
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
)

// TestSharedState: reputation, revocations and live rules on a cluster
// (and a sentinel group),
// seen from a second store; a rule change reaches a watcher.
func TestSharedState(t *testing.T) {
	cl := redistest.SharedCluster(t)
	testSharedState(t, func() *config.LimitStore { return &config.LimitStore{URL: cl.URL(), Cluster: true} })
}

func TestSharedStateSentinel(t *testing.T) {
	sg := redistest.SharedSentinels(t)
	testSharedState(t, func() *config.LimitStore {
		return &config.LimitStore{Sentinel: &config.Sentinel{MasterName: redistest.MasterName, Addrs: sg.Addrs()}}
	})
}

func testSharedState(t *testing.T, cfg func() *config.LimitStore) {
	a, b := newStoreCfg(t, cfg()), newStoreCfg(t, cfg())
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	changed := make(chan struct{}, 16)
	b.WatchRules(func() { changed <- struct{}{} })
	select {
	case <-changed: // subscribed
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription")
	}

	client := "192.0.2." + run
	if err := a.SetRep(client, map[string]string{"class": "known", "good": "12"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Rep(client); err != nil || m["class"] != "known" || m["good"] != "12" {
		t.Fatalf("rep %v, %v", m, err)
	}
	if m, err := b.Rep("other" + run); err != nil || len(m) != 0 {
		t.Fatalf("no rep: %v, %v", m, err)
	}
	if err := a.Revoke("tok"+run, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Revoked("tok" + run); err != nil || !ok {
		t.Fatalf("revoked %v, %v", ok, err)
	}
	if ok, err := b.Revoked("live" + run); err != nil || ok {
		t.Fatalf("not revoked %v, %v", ok, err)
	}
	if err := a.PutRule("r"+run, `{"when":"true"}`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("rule change not seen")
	}
	if m, err := b.Rules(); err != nil || m["r"+run] != `{"when":"true"}` {
		t.Fatalf("rules %v, %v", m, err)
	}
	if err := a.PutRule("r"+run, ""); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Rules(); err != nil || m["r"+run] != "" {
		t.Fatalf("rules after delete %v, %v", m, err)
	}
	if b.Errors()+a.Errors() != 0 {
		t.Fatalf("errors %d", b.Errors()+a.Errors())
	}
}
