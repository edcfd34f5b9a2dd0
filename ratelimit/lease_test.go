package ratelimit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
)

func TestSliceOf(t *testing.T) {
	b := func(rate, burst int) bucket {
		iv := int64(time.Second) / int64(rate)
		return bucket{interval: iv, tolerance: int64(burst) * iv}
	}
	tests := []struct {
		client bucket
		net    *netParams
		want   int
	}{
		{b(1000, 100), nil, 50},   // 100ms is 100, half the burst 50
		{b(1000, 1000), nil, 100}, // 100ms of rate
		{b(200, 40), nil, 20},
		{b(100, 2), nil, 1},                                 // burst too small: exact
		{b(9, 100), nil, 1},                                 // under 10/s: exact
		{b(1000, 100), &netParams{bucket: b(2000, 20)}, 10}, // the network's burst bounds it
		{bucket{}, nil, 1},
	}
	for i, tt := range tests {
		if got := sliceOf(&limitParams{client: tt.client, net: tt.net}); got != tt.want {
			t.Errorf("%d: sliceOf = %d, want %d", i, got, tt.want)
		}
	}
}

// fleetRun sends one client's requests round-robin through adms as fast
// as they answer for d, and returns the admitted count and elapsed time.
func fleetRun(adms []*Admission, c netip.Addr, d time.Duration) (admitted, decisions int, el time.Duration) {
	ps := make([]*Policy, len(adms))
	for i, a := range adms {
		ps[i] = a.Policy("default")
	}
	start := time.Now()
	for i := 0; time.Since(start) < d && i < 200000; i++ {
		a := adms[i%len(adms)]
		decisions++
		if dd := a.Admit(time.Now(), c, ps[i%len(adms)]); dd.Allow {
			admitted++
			a.Done(time.Now(), c, 200, false)
		}
	}
	return admitted, decisions, time.Since(start)
}

// TestFleetLease: three routers share one limit (200/s, burst 40; a
// slice is 20) in each mode. exact admits within rate×elapsed + burst;
// lease within that plus one slice per router, with at least 10× fewer
// Redis operations than decisions.
func TestFleetLease(t *testing.T) {
	srv := redistest.Start(t)
	const limits = "limits:\n  default: {rate: 200/s, burst: 40}\n"
	for i, mode := range []string{"exact", "lease"} {
		var adms []*Admission
		for range 3 {
			adms = append(adms, fleetAdmissionStore(t, fmt.Sprintf("{url: %q, timeout: 250ms, mode: %s}", srv.URL(), mode), limits, nil))
		}
		c := netip.MustParseAddr(fmt.Sprintf("198.19.0.%d", i+1))
		admitted, decisions, el := fleetRun(adms, c, 500*time.Millisecond)
		var ops, errs uint64
		for _, a := range adms {
			ops += a.fleet.s.Ops()
			errs += a.StoreErrors()
		}
		bound := int(200*el.Seconds()) + 40 + 1
		if mode == "lease" {
			bound += 3 * 20
		}
		t.Logf("%s: %d admitted of %d decisions in %v (bound %d), %d Redis ops (%.3f per decision)",
			mode, admitted, decisions, el, bound, ops, float64(ops)/float64(decisions))
		if errs != 0 || admitted > bound || admitted < int(200*el.Seconds())*8/10 {
			t.Fatalf("%s: admitted %d (bound %d), %d errors", mode, admitted, bound, errs)
		}
		if mode == "lease" && ops*10 > uint64(decisions) {
			t.Fatalf("lease: %d ops for %d decisions", ops, decisions)
		}
	}
}
