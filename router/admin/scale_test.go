package admin

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router"
)

// tenThousandClients builds a router whose admission tracks 10,000 clients,
// client i having sent i%50+1 requests.
func tenThousandClients(tb testing.TB) (*router.Router, *Sampler) {
	cfg, err := config.Load([]byte("backends: {app: {targets: [http://127.0.0.1:1]}}\nroutes: [{backend: app}]\n"))
	if err != nil {
		tb.Fatal(err)
	}
	rt, err := router.New(cfg, router.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	adm := rt.Admission()
	for i := range 10000 {
		c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		for range i%50 + 1 {
			if adm.Admit(now, c, nil).Allow {
				adm.Done(now, c, 200, false)
			}
		}
	}
	return rt, newSampler(router.NewServer(cfg, rt, nil), NewRecorder(nil, nil))
}

// At 10,000 tracked clients the document lists only the top 20 and stays
// small enough to poll every 2 s.
func TestStatusAtTenThousandClients(t *testing.T) {
	rt, s := tenThousandClients(t)
	defer rt.Close()
	st := s.Status()
	if st.Admission.TrackedClients != 10000 || len(st.Admission.Top) != TopClients {
		t.Fatalf("tracked %d, top %d", st.Admission.TrackedClients, len(st.Admission.Top))
	}
	for i := 1; i < len(st.Admission.Top); i++ {
		if st.Admission.Top[i].Rate > st.Admission.Top[i-1].Rate {
			t.Fatalf("top not sorted by rate: %v", st.Admission.Top)
		}
	}
	b, _ := json.Marshal(st)
	if len(b) > 16<<10 {
		t.Errorf("status is %d bytes", len(b))
	}
}

func BenchmarkStatusTenThousandClients(b *testing.B) {
	rt, s := tenThousandClients(b)
	defer rt.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.Status()
	}
}

func BenchmarkSample(b *testing.B) {
	rt, s := tenThousandClients(b)
	defer rt.Close()
	t := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(time.Second)
		s.sample(t)
	}
}
