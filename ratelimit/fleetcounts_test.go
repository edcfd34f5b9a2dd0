package ratelimit

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
)

const countLimits = `limits:
  default: {rate: 1/m, burst: 1}
abuse:
  ban: {after_rejections: 4, within: 1m, duration: 1m, max_duration: 4m}
  auth_failures: {statuses: [401], max: 3, within: 1m}
`

// bannedBoth polls until both routers refuse c as banned.
func bannedBoth(t *testing.T, a, b *Admission, c netip.Addr, why string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		da, db := a.Admit(time.Now(), c, nil), b.Admit(time.Now(), c, nil)
		if da.Allow {
			a.Done(time.Now(), c, 200, false)
		}
		if db.Allow {
			b.Done(time.Now(), c, 200, false)
		}
		if da.Status == 403 && db.Status == 403 {
			for _, adm := range []*Admission{a, b} {
				found := false
				for _, x := range adm.Bans() {
					found = found || x.Client == c && x.Level == 1 && x.Why == why
				}
				if !found {
					t.Fatalf("no %s ban of %v in %+v", why, c, adm.Bans())
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not banned on both within 5s: %+v / %+v", why, da, db)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testSharedCounts: strikes and auth failures that arrive two at each of
// two routers (each below the threshold alone) ban the client on both, as
// four at one router would.
func testSharedCounts(t *testing.T, store string) {
	a := fleetAdmissionStore(t, store, countLimits, nil)
	b := fleetAdmissionStore(t, store, countLimits, nil)
	pa, pb := a.Policy("default"), b.Policy("default")
	run := time.Now().UnixNano() % 250 // shared stores outlive a run

	// Strikes: the first request takes the shared token, the next four
	// are refused, two at each router: the fourth strike bans.
	c := netip.MustParseAddr(fmt.Sprintf("198.18.%d.1", run))
	if d := a.Admit(time.Now(), c, pa); !d.Allow {
		t.Fatalf("first request: %+v", d)
	}
	a.Done(time.Now(), c, 200, false)
	for i := range 4 {
		adm, p := a, pa
		if i%2 == 1 {
			adm, p = b, pb
		}
		if d := adm.Admit(time.Now(), c, p); d.Allow || d.Status != 429 {
			t.Fatalf("refusal %d: %+v", i, d)
		}
	}
	bannedBoth(t, a, b, c, "rejections")

	// Auth failures: four 401s, two at each router (max 3 each alone).
	c2 := netip.MustParseAddr(fmt.Sprintf("198.18.%d.2", run))
	for i := range 4 {
		adm := a
		if i%2 == 1 {
			adm = b
		}
		if d := adm.Admit(time.Now(), c2, nil); !d.Allow {
			t.Fatalf("auth request %d: %+v", i, d)
		}
		adm.Done(time.Now(), c2, 401, true)
	}
	bannedBoth(t, a, b, c2, "auth_failures")
	for _, adm := range []*Admission{a, b} {
		n := 0
		for _, x := range adm.Bans() { // the store keeps earlier runs' bans
			if x.Client == c || x.Client == c2 {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("bans %+v", adm.Bans())
		}
	}
	// Three failures spread the same way do not ban.
	c3 := netip.MustParseAddr(fmt.Sprintf("198.18.%d.3", run))
	for i := range 3 {
		adm := a
		if i%2 == 1 {
			adm = b
		}
		adm.Admit(time.Now(), c3, nil)
		adm.Done(time.Now(), c3, 401, true)
	}
	if d := a.Admit(time.Now(), c3, nil); !d.Allow {
		t.Fatalf("three auth failures banned: %+v", d)
	}
	a.Done(time.Now(), c3, 200, false)
}

func TestFleetSharedCounts(t *testing.T) {
	srv := redistest.Start(t)
	testSharedCounts(t, fmt.Sprintf("{url: %q, timeout: 250ms}", srv.URL()))
}

func TestFleetSharedCountsCluster(t *testing.T) {
	cl := redistest.SharedCluster(t)
	testSharedCounts(t, fmt.Sprintf("{cluster: true, url: %q, timeout: 250ms}", cl.URL()))
}

func TestFleetSharedCountsSentinel(t *testing.T) {
	sg := redistest.SharedSentinels(t)
	testSharedCounts(t, fmt.Sprintf("{sentinel: {master_name: %s, addrs: [%s]}, timeout: 250ms}",
		redistest.MasterName, strings.Join(sg.Addrs(), ", ")))
}
