package admin

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router"
)

// The sampler's goroutine takes one sample a second until Close, and
// Close waits for it.
func TestSamplerTicksUntilClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := config.Load([]byte("backends: {app: {targets: [http://127.0.0.1:1]}}\nroutes: [{backend: app}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		rec := NewRecorder(nil, nil)
		rt, err := router.New(cfg, router.Options{Recorder: rec})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		start := time.Now()
		s := NewSampler(router.NewServer(cfg, rt, nil), rec)
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		st := s.Status()
		if n := len(st.Backends[0].Series.ReqPerSec); n != 3 {
			t.Errorf("%d samples after 3 s, want 3", n)
		}
		if !st.SampledAt.Equal(start.Add(3 * time.Second)) {
			t.Errorf("sampled at %v, want start+3s", st.SampledAt.Sub(start))
		}
		if st.UptimeS != 3.001 || st.Listeners != (Listeners{}) {
			t.Errorf("uptime %v, listeners %+v", st.UptimeS, st.Listeners)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s.Close() // twice is fine
		time.Sleep(5 * time.Second)
		if n := len(s.Status().Backends[0].Series.ReqPerSec); n != 3 {
			t.Errorf("%d samples after Close, want 3", n)
		}
	})
}

// Backends that leave the config leave the status; a rebuilt backend
// starts its history again.
func TestSamplerFollowsReload(t *testing.T) {
	cfg, _ := config.Load([]byte("backends: {a: {targets: [http://127.0.0.1:1]}, b: {targets: [http://127.0.0.1:2]}}\nroutes: [{backend: a}]\n"))
	rt, err := router.New(cfg, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	t0 := time.Unix(1000, 0)
	s := newSampler(router.NewServer(cfg, rt, nil), nil, WithClock(func() time.Time { return t0 }))
	s.sample(t0.Add(time.Second))
	if n := len(s.Status().Backends); n != 2 {
		t.Fatalf("%d backends", n)
	}
	cfg2, _ := config.Load([]byte("backends: {a: {targets: [http://127.0.0.1:3]}}\nroutes: [{backend: a}]\n"))
	if err := rt.Update(cfg2); err != nil {
		t.Fatal(err)
	}
	s.sample(t0.Add(2 * time.Second))
	st := s.Status()
	if len(st.Backends) != 1 || st.Backends[0].Targets[0].URL != "http://127.0.0.1:3" {
		t.Fatalf("after reload: %+v", st.Backends)
	}
	if len(st.Backends[0].Series.ReqPerSec) != 2 || st.Backends[0].P50Ms != nil {
		t.Errorf("series %v, p50 %v", st.Backends[0].Series.ReqPerSec, st.Backends[0].P50Ms)
	}
	// Without a Recorder there are no refusal figures, but the maps are there.
	if st.Admission.RefusalsPerSec == nil || len(st.Admission.RefusalsTotal) != 0 {
		t.Errorf("refusals without a recorder: %v %v", st.Admission.RefusalsPerSec, st.Admission.RefusalsTotal)
	}
}
