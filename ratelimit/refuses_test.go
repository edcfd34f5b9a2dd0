package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

const refusesConfig = `
limits:
  default: {rate: 5/s, burst: 3}
  net: {rate: 100/s, burst: 100, per_network: {ipv4_prefix: 24, rate: 4/s, burst: 4}}
abuse:
  max_in_flight_per_client: 2
  ban: {after_rejections: 6, within: 1s, duration: 2s}
  allow: [203.0.113.0/24]
  deny: [198.51.100.0/24]
`

func TestWouldRefuse(t *testing.T) {
	h := newHarness(t, refusesConfig)
	refuses := func(at time.Duration, client, policy string) bool {
		return h.wouldRefuse(t0.Add(at), netip.MustParseAddr(client), h.Policy(policy))
	}
	if !refuses(0, "198.51.100.7", "") {
		t.Error("a denied client")
	}
	if refuses(0, "203.0.113.7", "default") {
		t.Error("an allowed client")
	}
	if refuses(0, "192.0.2.1", "default") {
		t.Error("a client without a record")
	}
	for range 3 {
		h.req(0, "192.0.2.1", "default")
	}
	if !refuses(0, "192.0.2.1", "default") {
		t.Error("a drained bucket")
	}
	if refuses(0, "192.0.2.1", "") || refuses(time.Second, "192.0.2.1", "default") {
		t.Error("another policy, or the bucket refilled")
	}
	// In flight.
	c := netip.MustParseAddr("192.0.2.2")
	h.Admit(t0, c, nil)
	h.Admit(t0, c, nil)
	if !refuses(0, "192.0.2.2", "") {
		t.Error("two requests in flight")
	}
	h.Done(t0, c, 200, false)
	if refuses(0, "192.0.2.2", "") {
		t.Error("one request in flight")
	}
	// Bans: six refusals within a second.
	for range 9 {
		h.req(0, "192.0.2.3", "default")
	}
	if !refuses(500*time.Millisecond, "192.0.2.3", "") {
		t.Error("a banned client")
	}
	// The network bucket: a new client of a drained /24.
	for i := range 4 {
		h.req(0, fmt.Sprintf("192.0.2.%d", 10+i), "net")
	}
	if !refuses(0, "192.0.2.99", "net") {
		t.Error("a new client of a drained network")
	}
	if refuses(0, "192.0.3.1", "net") {
		t.Error("a client of another network")
	}
}

func TestWouldRefuseInDryRun(t *testing.T) {
	h := newHarness(t, refusesConfig+"  dry_run: true\n")
	if h.wouldRefuse(t0, netip.MustParseAddr("198.51.100.7"), nil) {
		t.Error("dry run refuses")
	}
}

// wouldRefuse never answers true for a request Admit admits, and changes
// nothing: two admissions fed the same requests, one asked wouldRefuse before
// each, decide alike.
func TestWouldRefuseAgreesWithAdmit(t *testing.T) {
	looked := newHarness(t, refusesConfig)
	plain := newHarness(t, refusesConfig)
	rng := rand.New(rand.NewPCG(1, 2))
	type held struct {
		c  netip.Addr
		at time.Time
	}
	var inflight []held
	var agreed, refusals int
	now := t0
	for step := range 20000 {
		now = now.Add(time.Duration(rng.IntN(40)) * time.Millisecond)
		c := netip.AddrFrom4([4]byte{192, 0, byte(2 + rng.IntN(2)), byte(1 + rng.IntN(12))})
		if rng.IntN(20) == 0 {
			c = netip.AddrFrom4([4]byte{198, 51, 100, 1})
		}
		policy := []string{"", "default", "net"}[rng.IntN(3)]
		r := looked.wouldRefuse(now, c, looked.Policy(policy))
		d1 := looked.Admit(now, c, looked.Policy(policy))
		d2 := plain.Admit(now, c, plain.Policy(policy))
		if r && d1.Allow {
			t.Fatalf("step %d: wouldRefuse said no to %v under %q, Admit let it in", step, c, policy)
		}
		if d1.Allow != d2.Allow || d1.Reason != d2.Reason || d1.Remaining != d2.Remaining {
			t.Fatalf("step %d: with wouldRefuse %+v, without %+v", step, d1, d2)
		}
		if !d1.Allow {
			refusals++
			if r {
				agreed++
			}
		}
		if d1.Allow {
			inflight = append(inflight, held{c, now})
		}
		for len(inflight) > 0 && (rng.IntN(2) == 0 || len(inflight) > 8) {
			i := rng.IntN(len(inflight))
			looked.Done(now, inflight[i].c, 200, false)
			plain.Done(now, inflight[i].c, 200, false)
			inflight = append(inflight[:i], inflight[i+1:]...)
		}
	}
	// Most refusals are of tracked clients with drained buckets, bans or
	// the deny list: the front's to answer.
	if refusals < 1000 || agreed < refusals*8/10 {
		t.Errorf("wouldRefuse saw %d of %d refusals coming", agreed, refusals)
	}
	t.Logf("wouldRefuse saw %d of %d refusals coming", agreed, refusals)
}

// RefuseEarly is wouldRefuse then Admit in one step: two admissions fed the same
// random requests, one through RefuseEarly (and Admit when it declines, as the
// full path does), the other through wouldRefuse then Admit, decide every
// request alike, so their records stay alike too. Clients come from a few
// networks, some allowlisted or denied, some without a record yet, under
// client, network and no limits, with bans and the in-flight cap in play.
func TestRefuseEarlyIsWouldRefuseThenAdmit(t *testing.T) {
	merged := newHarness(t, refusesConfig)
	twoStep := newHarness(t, refusesConfig)
	rng := rand.New(rand.NewPCG(3, 4))
	type held struct{ c netip.Addr }
	var inflight []held
	var refused, admittedAfterAll int
	now := t0
	for step := range 30000 {
		now = now.Add(time.Duration(rng.IntN(30)) * time.Millisecond)
		c := netip.AddrFrom4([4]byte{192, 0, byte(2 + rng.IntN(3)), byte(1 + rng.IntN(16))})
		switch rng.IntN(25) {
		case 0:
			c = netip.AddrFrom4([4]byte{198, 51, 100, 1})
		case 1:
			c = netip.AddrFrom4([4]byte{203, 0, 113, 1})
		}
		policy := []string{"", "default", "net"}[rng.IntN(3)]
		if rng.IntN(8) == 0 {
			// A client new to the table, from a network that sends many:
			// its network's bucket runs dry before it has a record.
			c, policy = netip.AddrFrom4([4]byte{192, 0, 9, byte(1 + rng.IntN(250))}), "net"
		}
		d1, ok := merged.RefuseEarly(now, c, merged.Policy(policy))
		if !ok {
			d1 = merged.Admit(now, c, merged.Policy(policy))
		}
		r := twoStep.wouldRefuse(now, c, twoStep.Policy(policy))
		d2 := twoStep.Admit(now, c, twoStep.Policy(policy))
		if ok != r {
			t.Fatalf("step %d: %v under %q: RefuseEarly %v, wouldRefuse %v", step, c, policy, ok, r)
		}
		if d1.Allow != d2.Allow || d1.DryRun != d2.DryRun || d1.Reason != d2.Reason || d1.Status != d2.Status ||
			d1.RetryAfter != d2.RetryAfter || d1.Remaining != d2.Remaining || d1.Reset != d2.Reset || d1.Class != d2.Class {
			t.Fatalf("step %d: %v under %q: RefuseEarly %+v, wouldRefuse then Admit %+v", step, c, policy, d1, d2)
		}
		if ok {
			refused++
			if d1.Allow {
				admittedAfterAll++
			}
		}
		if d1.Allow {
			inflight = append(inflight, held{c})
		}
		for len(inflight) > 0 && (rng.IntN(2) == 0 || len(inflight) > 8) {
			i := rng.IntN(len(inflight))
			merged.Done(now, inflight[i].c, 200, false)
			twoStep.Done(now, inflight[i].c, 200, false)
			inflight = append(inflight[:i], inflight[i+1:]...)
		}
	}
	if refused < 2000 {
		t.Errorf("only %d requests were the front's to refuse", refused)
	}
	if mr, tr := fmt.Sprint(merged.rec.rejected), fmt.Sprint(twoStep.rec.rejected); mr != tr {
		t.Errorf("refusals counted: %s through RefuseEarly, %s through wouldRefuse then Admit", mr, tr)
	}
	t.Logf("%d requests were the front's to refuse (%d admitted after all)", refused, admittedAfterAll)
}

func BenchmarkWouldRefuse(b *testing.B) {
	h := newHarness(b, refusesConfig)
	c := netip.MustParseAddr("192.0.2.1")
	p := h.Policy("default")
	for range 3 {
		h.Admit(t0, c, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !h.wouldRefuse(t0, c, p) {
			b.Fatal("not refused")
		}
	}
}

// BenchmarkRefuseEarly is the front's decision on a client with a drained
// bucket: RefuseEarly, against the look and decision it replaces.
func BenchmarkRefuseEarly(b *testing.B) {
	h := newHarness(b, refusesConfig)
	c := netip.MustParseAddr("192.0.2.1")
	p := h.Policy("default")
	for range 3 {
		h.Admit(t0, c, p)
	}
	b.Run("refuse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := h.RefuseEarly(t0, c, p); !ok {
				b.Fatal("not refused")
			}
		}
	})
	b.Run("refuses_then_admit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !h.wouldRefuse(t0, c, p) || h.Admit(t0, c, p).Allow {
				b.Fatal("not refused")
			}
		}
	})
}
