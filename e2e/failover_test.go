package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// hotKey is the shared bucket of the client the fleet tests send as
// (policy default, 127.0.0.1).
const hotKey = "bulwark:rl:{default:127.0.0.1}"

// failover runs two bulwark processes on store, one client hammering both
// (20/s, burst 5), and kill, which kills the primary holding the client's
// bucket and returns when the failover is done. Over the whole run no
// request fails; before the kill and from 2 s after the failover the two
// routers together admit within one shared bucket's bound.
func failover(t *testing.T, store string, kill func() time.Time) {
	baddr, r1, r2 := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	startBulwark(t, "r1", r1, fleetConfigStore(r1, baddr, store, ""))
	startBulwark(t, "r2", r2, fleetConfigStore(r2, baddr, store, ""))
	l := startFleetLoad(t, 60*time.Second, "http://"+r1+"/", "http://"+r2+"/")
	bound := func(el time.Duration) int { return int(20*el.Seconds()) + 5 + 2 }

	m, el := l.window(t, time.Second)
	if m[200] > bound(el) || m[429] == 0 || failed(m) != 0 {
		t.Fatalf("shared: %v in %v, at most %d admitted", m, el, bound(el))
	}
	t.Logf("shared before the failover: %v in %v (bound %d)", m, el, bound(el))

	killed := time.Now()
	done := kill()
	t.Logf("failover done %v after the kill", done.Sub(killed).Round(time.Millisecond))
	<-time.After(time.Until(done.Add(2 * time.Second))) // the window starts 2s after
	m, el = l.window(t, time.Second)
	if m[200] > bound(el) || m[429] == 0 || failed(m) != 0 {
		t.Fatalf("2s after the failover: %v in %v, at most %d admitted", m, el, bound(el))
	}
	t.Logf("shared from 2s after the failover: %v in %v (bound %d)", m, el, bound(el))
	l.Stop()
	if m := l.counts(); failed(m) != 0 {
		t.Fatalf("failed requests: %v", m)
	}
}

// TestFleetClusterFailover kills the cluster primary that owns the hot
// client's slot.
func TestFleetClusterFailover(t *testing.T) {
	cl := redistest.SharedCluster(t)
	store := fmt.Sprintf("{cluster: true, url: %q, on_error: local, timeout: 50ms}", cl.URL())
	failover(t, store, func() time.Time {
		i, err := cl.PrimaryFor(hotKey)
		if err != nil {
			t.Fatal(err)
		}
		cl.Kill(i)
		t.Cleanup(func() { cl.Restart(t, i) })
		return cl.WaitFailover(t, hotKey, i)
	})
}

// TestFleetSentinelFailover kills the primary the sentinels watch.
func TestFleetSentinelFailover(t *testing.T) {
	sg := redistest.SharedSentinels(t)
	store := fmt.Sprintf("{sentinel: {master_name: %s, addrs: [%s]}, on_error: local, timeout: 50ms}",
		redistest.MasterName, strings.Join(sg.Addrs(), ", "))
	failover(t, store, func() time.Time {
		i, err := sg.Primary()
		if err != nil {
			t.Fatal(err)
		}
		sg.Kill(i)
		t.Cleanup(func() { sg.Restart(t, i) })
		return sg.WaitFailover(t, i)
	})
}
