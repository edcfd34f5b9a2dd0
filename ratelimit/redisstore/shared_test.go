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
	if b.Errors()+a.Errors() != 0 {
		t.Fatalf("errors %d", b.Errors()+a.Errors())
	}
}
