package router

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// The access log: one line per request, forwarded or refused by the front,
// sampled by Options.AccessSampler before a line is built.
func TestAccessLogSampling(t *testing.T) {
	be := namedBackend(t, "app")
	for _, tt := range []struct {
		name        string
		initial     int // 0: no sampler
		wantLines   int
		wantDropped int
	}{
		{"every line", 0, 6, 0},
		{"first 2 a second", 2, 2, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dropped atomic.Int64
			var sample *stats.LineSampler
			if tt.initial > 0 {
				sample = stats.NewLineSampler(stats.SampleOptions{Initial: tt.initial}, func() { dropped.Add(1) })
			}
			core, logs := observer.New(zapcore.InfoLevel)
			cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" + frontConfig(be.URL, "")))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Log.Access = true
			// The sampler's window is a second of the router's clock: a
			// clock that stands still keeps the six requests in one.
			rt, err := New(cfg, Options{Logger: zap.New(core), AccessSampler: sample, Now: newManualClock().Now})
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(cfg, rt, zap.New(core))
			if err := srv.Start(nil); err != nil {
				t.Fatal(err)
			}
			defer stopRouter(t, srv)
			base := "http://" + srv.Addr().String()
			logged := func(n int) []observer.LoggedEntry { // waits for n requests logged or dropped
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
					lines := logs.FilterMessage(stats.AccessMessage).All()
					if len(lines)+int(dropped.Load()) >= n {
						return lines
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d requests logged and %d dropped, want %d in all", len(lines), dropped.Load(), n)
					}
				}
			}
			spendToken(t, base) // a forwarded request, logged after its answer is out
			logged(1)
			c := dialRaw(t, base)
			for range 3 { // refused by the front
				c.send(get1("/limited/x"))
				if resp, _ := c.next(); resp.StatusCode != 429 {
					t.Fatalf("%d", resp.StatusCode)
				}
			}
			for range 2 { // forwarded
				c.send(get1("/ok"))
				if resp, _ := c.next(); resp.StatusCode != 200 {
					t.Fatalf("%d", resp.StatusCode)
				}
			}
			lines := logged(6)
			if len(lines) != tt.wantLines || int(dropped.Load()) != tt.wantDropped {
				t.Fatalf("%d access lines, %d dropped; want %d, %d", len(lines), dropped.Load(), tt.wantLines, tt.wantDropped)
			}
			if f := lines[0].ContextMap(); f["path"] != "/limited/a" || f["status"] != int64(http.StatusOK) || f["backend"] != "app" {
				t.Errorf("first line %v", f)
			}
			if sample == nil {
				if f := lines[1].ContextMap(); f["status"] != int64(429) || f["refused"] != "rate_limit" {
					t.Errorf("a refusal's line %v", f)
				}
			}
		})
	}
}

// An access line names the request's route, host, user agent and query,
// with the values of log.redact_query's parameters hidden, whether the
// request was forwarded or refused by the front or by ServeHTTP.
func TestAccessLineNamesTheRequest(t *testing.T) {
	be := namedBackend(t, "app")
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("early_refusal=%v", early), func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			cfg, err := config.Load([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n" +
				frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v}\n", early))))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Log.Access = true
			cfg.Routes[0].Stats.Name = "limited"
			rt, err := New(cfg, Options{Logger: zap.New(core)})
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(cfg, rt, zap.New(core))
			if err := srv.Start(nil); err != nil {
				t.Fatal(err)
			}
			defer stopRouter(t, srv)
			c := dialRaw(t, "http://"+srv.Addr().String())
			const q = "user=ann&Token=s3cret&x=1;password=hunter2&access_token="
			const want = "user=ann&Token=REDACTED&x=1;password=REDACTED&access_token=REDACTED"
			for _, code := range []int{200, 429} {
				c.send("GET /limited/a?" + q + " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: probe/1.0\r\n\r\n")
				if resp, _ := c.next(); resp.StatusCode != code {
					t.Fatalf("got %d, want %d", resp.StatusCode, code)
				}
			}
			var lines []observer.LoggedEntry
			for deadline := time.Now().Add(5 * time.Second); len(lines) < 2; time.Sleep(time.Millisecond) {
				if lines = logs.FilterMessage(stats.AccessMessage).All(); time.Now().After(deadline) {
					t.Fatalf("%d access lines, want 2", len(lines))
				}
			}
			for i, l := range lines {
				f := l.ContextMap()
				if f["route"] != "limited" || f["host"] != "shop.example" || f["user_agent"] != "probe/1.0" || f["query"] != want {
					t.Errorf("line %d: route %q host %q user_agent %q query %q", i, f["route"], f["host"], f["user_agent"], f["query"])
				}
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	s := newRedactSet([]string{"token", "Password"})
	for _, tt := range []struct{ give, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"token=x", "token=REDACTED"},
		{"TOKEN=x&a=1", "TOKEN=REDACTED&a=1"},
		{"a=1;password=p;b", "a=1;password=REDACTED;b"},
		{"token", "token"}, // no value to hide
		{"token=", "token=REDACTED"},
		{"token=a=b&token=c", "token=REDACTED&token=REDACTED"},
		{"tokens=x&xtoken=y", "tokens=x&xtoken=y"},
		{"&&token=x&&", "&&token=REDACTED&&"},
	} {
		if got := s.redactQuery(tt.give); got != tt.want {
			t.Errorf("redactQuery(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { s.redactQuery("a=1&b=2&c=3") }); n != 0 {
		t.Errorf("a query with nothing to hide: %v allocations", n)
	}
	if got := newRedactSet(nil).redactQuery("token=x"); got != "token=x" {
		t.Errorf("with nothing to hide: %q", got)
	}
}

// FuzzRedactQuery: no value of a hidden parameter survives, everything else
// is kept as sent, and a query with nothing hidden comes back unchanged.
func FuzzRedactQuery(f *testing.F) {
	for _, q := range []string{"", "token=x", "a=1&token=2;b=3", "TOKEN=&token", "=x&&;"} {
		f.Add(q)
	}
	s := newRedactSet([]string{"token"})
	f.Fuzz(func(t *testing.T, q string) {
		got := s.redactQuery(q)
		gp, qp := strings.FieldsFunc(got, isSep), strings.FieldsFunc(q, isSep)
		if len(gp) != len(qp) || strings.Count(got, "&")+strings.Count(got, ";") != strings.Count(q, "&")+strings.Count(q, ";") {
			t.Fatalf("redactQuery(%q) = %q: parameters changed", q, got)
		}
		for i, p := range gp {
			name, _, hasValue := strings.Cut(qp[i], "=")
			if hasValue && asciiLower(name) == "token" {
				if p != name+"="+redacted {
					t.Fatalf("redactQuery(%q) = %q: %q kept its value", q, got, qp[i])
				}
			} else if p != qp[i] {
				t.Fatalf("redactQuery(%q) = %q: %q changed", q, got, qp[i])
			}
		}
	})
}

func isSep(r rune) bool { return r == '&' || r == ';' }

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
