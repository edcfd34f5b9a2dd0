package ratelimit

import (
	"net/netip"
	"testing"

	"github.com/bulwark-router/bulwark/stats"
)

func TestConnCap(t *testing.T) {
	h := newHarness(t, `
abuse:
  max_conns_per_client: 2
`)
	peer := netip.MustParseAddr("127.0.0.1")
	var slots []*ConnSlot
	for i := range 2 {
		slot, over := h.AcquireConn(peer)
		if over || slot == nil {
			t.Fatalf("connection %d under the cap: slot %v, over %v", i, slot, over)
		}
		slots = append(slots, slot)
	}
	if slot, over := h.AcquireConn(peer); !over || slot != nil {
		t.Fatalf("third connection: slot %v, over %v", slot, over)
	}
	if n := h.rec.count(stats.TooManyConns); n != 1 {
		t.Fatalf("too_many_conns %d, want 1", n)
	}
	if e := h.tracked(peer); e == nil || e.conns != 2 {
		t.Fatalf("record %+v", e)
	}
	slots[0].Release()
	slots[0].Release() // once only
	if e := h.tracked(peer); e == nil || e.conns != 1 {
		t.Fatalf("after a release: record %+v", e)
	}
	if slot, over := h.AcquireConn(peer); over || slot == nil {
		t.Fatal("connection after one closed refused")
	}
}

func TestConnsUncapped(t *testing.T) {
	h := newHarness(t, "")
	for i := range 5 {
		if slot, over := h.AcquireConn(netip.MustParseAddr("127.0.0.1")); over || slot != nil {
			t.Fatalf("connection %d: slot %v, over %v", i, slot, over)
		}
	}
	if h.Snapshot(0).TrackedClients != 0 {
		t.Fatal("connections counted without a cap")
	}
}
