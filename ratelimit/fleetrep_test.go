package ratelimit

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"go.uber.org/zap"
)

// repAdmission is an Admission on the store at url where 2 good answers
// make a client known, with extra options.
func repAdmission(t *testing.T, url string, opts ...Option) *Admission {
	t.Helper()
	cfg := loadConfig(t, fmt.Sprintf("limit_store: {url: %q, timeout: 250ms}\n", url))
	a, err := New(cfg, nil, zap.NewNop(), append([]Option{WithSweepInterval(0), WithReputation(2, 0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// classWithin polls until adm holds c as class, failing after d.
func classWithin(t *testing.T, adm *Admission, c netip.Addr, class Class, d time.Duration) Standing {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := adm.StandingOf(time.Now(), c)
		if st.Class == class {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v at b: %+v, want %v within %v", c, st, class, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serve admits one request of c at adm and answers it with status.
func serve(t *testing.T, adm *Admission, c netip.Addr, status int) {
	t.Helper()
	if d := adm.Admit(time.Now(), c, nil); !d.Allow {
		t.Fatalf("%v refused: %+v", c, d)
	}
	adm.Done(time.Now(), c, status, false)
}

// TestFleetStanding: a client known at one router is known at another
// from (right after) its first request there, with its first-seen time;
// a ban anywhere takes the shared standing away.
func TestFleetStanding(t *testing.T) {
	srv := redistest.Start(t)
	a, b := repAdmission(t, srv.URL()), repAdmission(t, srv.URL())
	c := netip.MustParseAddr("198.51.100.20")
	serve(t, a, c, 200)
	serve(t, a, c, 200)
	sa := a.StandingOf(time.Now(), c)
	if sa.Class != ClassKnown {
		t.Fatalf("at a: %+v", sa)
	}
	// The write goes through a's writer queue: b's first sight may come
	// before it lands, and then b asks again only after forgetting c. So
	// wait for the store to hold it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, _ := a.fleet.s.Rep(c.String()); m["good"] == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("standing not written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := b.StandingOf(time.Now(), c); st.Class != ClassNew || !st.Since.IsZero() {
		t.Fatalf("at b before its first request: %+v", st)
	}
	serve(t, b, c, 200)
	sb := classWithin(t, b, c, ClassKnown, time.Second)
	// First seen travels in whole seconds of each router's time base.
	if d := sa.Since.Sub(sb.Since); d < 0 || d > 2*time.Second {
		t.Fatalf("first seen at b %v, at a %v", sb.Since, sa.Since)
	}

	// A client new at both stays new at b.
	c2 := netip.MustParseAddr("198.51.100.21")
	serve(t, b, c2, 200)
	if m, err := b.fleet.s.Rep(c2.String()); err != nil || len(m) != 0 {
		t.Fatalf("a new client's standing was written: %v %v", m, err)
	}

	// A ban deletes the shared standing.
	if _, err := a.Ban(c, time.Minute, "test", "test"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		if m, _ := a.fleet.s.Rep(c.String()); len(m) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("standing outlived a ban")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFleetStandingOverStateFile: at start, what the store holds of a
// client replaces what the state file said.
func TestFleetStandingOverStateFile(t *testing.T) {
	srv := redistest.Start(t)
	a := repAdmission(t, srv.URL())
	c := netip.MustParseAddr("198.51.100.30")
	serve(t, a, c, 200)
	serve(t, a, c, 200)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, _ := a.fleet.s.Rep(c.String()); m["good"] == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("standing not written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The file says c was first seen an hour ago, verified, with one
	// error answer; the store says it was first seen now, known.
	file := filepath.Join(t.TempDir(), "state")
	head := fmt.Sprintf(`{"bulwark_state":1,"written":%q}`, time.Now().UTC().Format(time.RFC3339))
	rec := `{"client":"198.51.100.30","first_age_s":3600,"bad":1,"flags":32}`
	if err := os.WriteFile(file, []byte(head+"\n"+rec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := repAdmission(t, srv.URL(), WithStateFile(file))
	st := classWithin(t, b, c, ClassKnown, time.Second)
	if time.Since(st.Since) > time.Minute {
		t.Fatalf("first seen %v: the state file's, not the store's", st.Since)
	}
}
