package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
)

func check(interval time.Duration, rise, fall int) config.Check {
	return config.Check{
		Path:     "/__health__",
		Interval: config.Duration(interval),
		Timeout:  config.Duration(2 * time.Second),
		Rise:     rise,
		Fall:     fall,
	}
}

// fakeTargets is an injected CheckFunc for timing tests: each target passes
// unless marked sick, and every probe is counted.
type fakeTargets struct {
	mu    sync.Mutex
	sick  map[string]bool
	calls map[string]int
}

func newFakeTargets() *fakeTargets {
	return &fakeTargets{sick: map[string]bool{}, calls: map[string]int{}}
}

func (f *fakeTargets) check(_ context.Context, target string, _ config.Check) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[target]++
	if f.sick[target] {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeTargets) setSick(target string, sick bool) {
	f.mu.Lock()
	f.sick[target] = sick
	f.mu.Unlock()
}

func (f *fakeTargets) count(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[target]
}

func TestCheckerFallAndRise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ft := newFakeTargets()
		rec := newRecorder()
		var mu sync.Mutex
		var changes []string
		c := NewChecker(nil, rec, zaptest.NewLogger(t), func(b, tg string, up bool) {
			mu.Lock()
			changes = append(changes, fmt.Sprintf("%s %s up=%v at %v", b, tg, up, time.Since(start)))
			mu.Unlock()
		}, WithCheckFunc(ft.check), WithJitter(0))
		defer c.Close()

		// One row per probe, one second apart, the first at once: rise 2, fall 3.
		tests := []struct {
			sick bool
			want bool
		}{
			{sick: false, want: true},
			{sick: true, want: true},  // 1 failure
			{sick: true, want: true},  // 2
			{sick: true, want: false}, // 3: down
			{sick: true, want: false},
			{sick: false, want: false}, // 1 pass
			{sick: true, want: false},  // the run of passes starts over
			{sick: false, want: false}, // 1 pass
			{sick: false, want: true},  // 2: up
			{sick: true, want: true},
			{sick: false, want: true}, // a pass resets the failures
			{sick: true, want: true},
			{sick: true, want: true},
		}
		for i, tt := range tests {
			ft.setSick("http://t1", tt.sick)
			if i == 0 {
				c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1"), Health: check(time.Second, 2, 3)}})
			} else {
				time.Sleep(time.Second)
			}
			synctest.Wait()
			if got := c.Up("app", "http://t1"); got != tt.want {
				t.Fatalf("probe %d at %v: Up = %v, want %v", i, time.Since(start), got, tt.want)
			}
			if up, _ := rec.get("app/http://t1"); up != tt.want {
				t.Fatalf("probe %d: recorder BackendUp = %v, want %v", i, up, tt.want)
			}
		}
		if got := ft.count("http://t1"); got != len(tests) {
			t.Errorf("probes = %d, want %d", got, len(tests))
		}
		if got := rec.failCount("app"); got != 8 {
			t.Errorf("HealthFail count = %d, want 8", got)
		}
		want := []string{"app http://t1 up=false at 3s", "app http://t1 up=true at 8s"}
		if fmt.Sprint(changes) != fmt.Sprint(want) {
			t.Errorf("changes = %q, want %q", changes, want)
		}
	})
}

func TestCheckerTimeoutIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var probes []time.Duration
		var mu sync.Mutex
		block := func(ctx context.Context, _ string, _ config.Check) error {
			<-ctx.Done()
			mu.Lock()
			probes = append(probes, time.Since(start))
			mu.Unlock()
			return ctx.Err()
		}
		c := NewChecker(nil, nil, nil, nil, WithCheckFunc(block), WithJitter(0))
		defer c.Close()
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1"), Health: check(5*time.Second, 1, 1)}})
		time.Sleep(2*time.Second - 1)
		synctest.Wait()
		if !c.Up("app", "http://t1") {
			t.Fatal("down before the timeout")
		}
		time.Sleep(1)
		synctest.Wait()
		if c.Up("app", "http://t1") {
			t.Fatal("still up after the timeout")
		}
		time.Sleep(7 * time.Second) // next probe starts at 7s, times out at 9s
		synctest.Wait()
		if fmt.Sprint(probes) != "[2s 9s]" {
			t.Fatalf("probe ends = %v, want [2s 9s]", probes)
		}
	})
}

func TestCheckerJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		record := func(context.Context, string, config.Check) error {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			return nil
		}
		c := NewChecker(nil, nil, nil, nil, WithCheckFunc(record)) // default jitter ±10%
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1"), Health: check(10*time.Second, 1, 1)}})
		time.Sleep(300 * time.Second)
		c.Close()
		distinct := map[time.Duration]bool{}
		for i := 1; i < len(at); i++ {
			gap := at[i].Sub(at[i-1])
			if gap < 9*time.Second || gap > 11*time.Second {
				t.Errorf("gap %d = %v, want 10s ±10%%", i, gap)
			}
			distinct[gap] = true
		}
		if len(at) < 27 || len(distinct) < 5 {
			t.Errorf("%d probes, %d distinct gaps: jitter not applied", len(at), len(distinct))
		}
	})
}

func TestCheckerUpdateKeepsUnchangedTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := newFakeTargets()
		ft.setSick("http://t1", true)
		c := NewChecker(nil, nil, nil, nil, WithCheckFunc(ft.check), WithJitter(0))
		defer c.Close()
		hc := check(time.Second, 2, 1)
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1", "http://t2"), Health: hc}})
		synctest.Wait()
		if c.Up("app", "http://t1") || !c.Up("app", "http://t2") {
			t.Fatal("want t1 down, t2 up after the first probe")
		}
		time.Sleep(500 * time.Millisecond)

		// Same settings for t1, t2 gone, t3 new.
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1", "http://t3"), Health: hc}})
		synctest.Wait()
		if c.Up("app", "http://t1") {
			t.Error("t1 lost its down state")
		}
		if got := ft.count("http://t1"); got != 1 {
			t.Errorf("t1 probes = %d, want 1 (not restarted)", got)
		}
		if got := ft.count("http://t3"); got != 1 {
			t.Errorf("t3 probes = %d, want 1 (probed at once)", got)
		}
		time.Sleep(500 * time.Millisecond) // t1's own schedule: 1s after its first probe
		synctest.Wait()
		if got := ft.count("http://t1"); got != 2 {
			t.Errorf("t1 probes at 1s = %d, want 2", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := ft.count("http://t2"); got != 1 {
			t.Errorf("removed t2 still probed: %d", got)
		}
		if !c.Up("app", "http://t2") {
			t.Error("an unchecked target must read as up")
		}

		// A changed check restarts probing at once but keeps up/down.
		n := ft.count("http://t1")
		hc.Interval = config.Duration(3 * time.Second)
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1", "http://t3"), Health: hc}})
		synctest.Wait()
		if got := ft.count("http://t1"); got != n+1 {
			t.Errorf("t1 probes after a changed check = %d, want %d", got, n+1)
		}
		if c.Up("app", "http://t1") {
			t.Error("t1 came up on a config change")
		}
		// Flipping critical is not a check change.
		hc.Critical = true
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1", "http://t3"), Health: hc}})
		synctest.Wait()
		if got := ft.count("http://t1"); got != n+1 {
			t.Errorf("critical flip restarted t1: %d probes", got)
		}

		// No health path: checks stop.
		c.Update(map[string]*config.Backend{"app": {Targets: config.URLs("http://t1")}})
		n1, n3 := ft.count("http://t1"), ft.count("http://t3")
		time.Sleep(10 * time.Second)
		if ft.count("http://t1") != n1 || ft.count("http://t3") != n3 || !c.Up("app", "http://t1") {
			t.Error("checks kept running without a health path")
		}
	})
}

func TestCheckerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := newFakeTargets()
		c := NewChecker(nil, nil, nil, nil, WithCheckFunc(ft.check), WithJitter(0))
		c.Update(map[string]*config.Backend{
			"a": {Targets: config.URLs("http://t1", "http://t2"), Health: check(time.Second, 1, 1)},
			"b": {Targets: config.URLs("http://t3"), Health: check(time.Second, 1, 1)},
		})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		n := ft.count("http://t1")
		time.Sleep(10 * time.Second)
		c.Update(map[string]*config.Backend{"a": {Targets: config.URLs("http://t9"), Health: check(time.Second, 1, 1)}})
		synctest.Wait()
		if ft.count("http://t1") != n || ft.count("http://t9") != 0 {
			t.Fatal("probes after Close")
		}
		if err := c.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		// synctest.Test fails if any goroutine of the bubble is left.
	})
}

// TestCheckerHTTP runs the real probe against a real server.
func TestCheckerHTTP(t *testing.T) {
	var code atomic.Int32
	code.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/__health__" || r.Header.Get("User-Agent") != "bulwark-health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(code.Load()))
	}))
	defer srv.Close()
	changes := make(chan bool, 16)
	rec := newRecorder()
	c := NewChecker(srv.Client(), rec, zaptest.NewLogger(t), func(_, _ string, up bool) { changes <- up }, WithJitter(0))
	defer c.Close()
	hc := check(10*time.Millisecond, 2, 2)
	c.Update(map[string]*config.Backend{"app": {Targets: config.URLs(srv.URL + "/"), Health: hc}})

	waitFor := func(want bool) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Fatalf("change to up=%v, want up=%v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no change to up=%v", want)
		}
	}
	code.Store(http.StatusServiceUnavailable)
	waitFor(false)
	if c.Up("app", srv.URL+"/") || rec.failCount("app") < 2 {
		t.Fatalf("Up = %v, fails = %d", c.Up("app", srv.URL+"/"), rec.failCount("app"))
	}
	code.Store(http.StatusNoContent)
	waitFor(true)
}

func TestHTTPCheckStatuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/fail", http.StatusFound) // not followed
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/missing":
			http.NotFound(w, r)
		case "/slow":
			<-r.Context().Done()
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	c := NewChecker(nil, nil, nil, nil) // its own client
	defer c.Close()
	tests := []struct {
		target, path string
		want         string // "" passes
	}{
		{srv.URL, "/ok", ""},
		{srv.URL, "/redirect", ""},
		{srv.URL, "/fail", "health: status 500"},
		{srv.URL, "/missing", "health: status 404"},
		{srv.URL, "/slow", "context deadline exceeded"},
		{deadURL, "/ok", "connection refused"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.check(ctx, tt.target, config.Check{Path: tt.path})
		cancel()
		var got string
		if err != nil {
			got = err.Error()
		}
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(got, tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.path, err, tt.want)
		}
	}
}
