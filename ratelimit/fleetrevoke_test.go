package ratelimit

import (
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
)

// revokedWithin polls until adm's set holds id, failing after d.
func revokedWithin(t *testing.T, adm *Admission, id uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !adm.Revocations().Revoked(id, time.Now()) {
		if time.Now().After(deadline) {
			t.Fatalf("token %x not revoked within %v", id, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFleetRevocations: a token revoked at one router is revoked at
// another within a second (announced), and at a router that starts later
// at once (read after it subscribes); Revoked never asks Redis.
func TestFleetRevocations(t *testing.T) {
	srv := redistest.Start(t)
	a := fleetAdmission(t, srv.URL(), "", nil)
	b := fleetAdmission(t, srv.URL(), "", nil)
	id := uint64(time.Now().UnixNano())
	if b.Revocations().Revoked(id, time.Now()) {
		t.Fatal("revoked before Revoke")
	}
	waitSubscribed(t, b)
	if err := a.Revocations().Revoke(id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !a.Revocations().Revoked(id, time.Now()) {
		t.Fatal("not revoked where it was revoked")
	}
	revokedWithin(t, b, id, time.Second)
	if until := b.Revocations().List(time.Now())[id]; until.Before(time.Now().Add(59 * time.Minute)) {
		t.Fatalf("revoked at b until %v, want about an hour", until)
	}

	c := fleetAdmission(t, srv.URL(), "", nil)
	revokedWithin(t, c, id, 2*time.Second)

	// With the store gone, Revoked still answers from memory, and Revoke
	// takes effect here and reports the store's error.
	srv.Kill()
	if !b.Revocations().Revoked(id, time.Now()) {
		t.Fatal("revocation lost with the store")
	}
	if err := a.Revocations().Revoke(id+1, time.Now().Add(time.Hour)); err == nil {
		t.Fatal("no error from a dead store")
	}
	if !a.Revocations().Revoked(id+1, time.Now()) {
		t.Fatal("local revocation lost when the store failed")
	}
}

// waitSubscribed revokes probe tokens at a second router until adm hears
// one (its subscription is in place).
func waitSubscribed(t *testing.T, adm *Admission) {
	t.Helper()
	probe := adm.fleet.s
	deadline := time.Now().Add(5 * time.Second)
	for {
		id := uint64(time.Now().UnixNano()) ^ 0xffff<<48
		if err := probe.Revoke(fmt.Sprintf("%016x", id), time.Minute); err != nil {
			t.Fatal(err)
		}
		if poll(adm, id, 100*time.Millisecond) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not subscribed within 5s")
		}
	}
}

func poll(adm *Admission, id uint64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !adm.Revocations().Revoked(id, time.Now()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
