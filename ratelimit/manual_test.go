package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// TestBansHandlerPost adds, lists and lifts admin bans through the API,
// checking that they take effect at once and are audited.
func TestBansHandlerPost(t *testing.T) {
	clk := testutil.NewClock(t0)
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	a, err := New(loadConfig(t, banYAML+"  allow: [203.0.113.0/24]\n"), nil, log,
		WithClock(clk.Now), WithSweepInterval(0), WithSeed(42))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.BansHandler(func(r *http.Request) string { return r.Header.Get("X-Who") }))
	defer srv.Close()

	do := func(method, query, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+query, strings.NewReader(body))
		req.Header.Set("X-Who", "ops")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	banned := func(client string) bool {
		return a.Refuses(clk.Now(), a.clientKey(netip.MustParseAddr(client)).addr(), nil)
	}

	tests := []struct {
		body      string
		want      int
		wantError string
	}{
		{``, 400, "invalid JSON body"},
		{`{"client": "198.51.100.7", "duration": "10m"`, 400, "invalid JSON body"},
		{`{"client": "198.51.100.7", "duration": "10m", "why": "x"}`, 400, "unknown field"},
		{`{"client": "198.51.100.7", "duration": "10m"} {}`, 400, "more than one value"},
		{`{"duration": "10m"}`, 400, "client is required"},
		{`{"client": "example.com", "duration": "10m"}`, 400, "client must be an IP address"},
		{`{"client": "198.51.100.0/24", "duration": "10m"}`, 400, "single client"},
		{`{"client": "198.51.100.7"}`, 400, "duration is required"},
		{`{"client": "198.51.100.7", "duration": "ten minutes"}`, 400, "invalid duration"},
		{`{"client": "198.51.100.7", "duration": 600}`, 400, "invalid JSON body"},
		{`{"client": "198.51.100.7", "duration": "-1m"}`, 400, "greater than 0"},
		{`{"client": "198.51.100.7", "duration": "5m"}`, 400, "over abuse.ban.max_duration (4m0s)"},
		{`{"client": "198.51.100.7", "duration": "1m", "reason": "` + strings.Repeat("é", 201) + `"}`, 400, "at most 200"},
		{`{"client": "198.51.100.7", "duration": "1m", "reason": "a\u0007b"}`, 400, "printable"},
		{`{"client": "203.0.113.9", "duration": "1m"}`, 409, "abuse.allow"},
	}
	for i, tt := range tests {
		code, out := do("POST", "", tt.body)
		if code != tt.want || !strings.Contains(out["error"].(string), tt.wantError) {
			t.Errorf("step %d %s: %d %v, want %d %q", i, tt.body, code, out, tt.want, tt.wantError)
		}
	}
	if n := len(a.Bans()); n != 0 || logs.FilterMessage("admin audit").Len() != 0 {
		t.Fatalf("refused requests made %d bans, %d audit lines", n, logs.Len())
	}

	code, out := do("POST", "", `{"client": "198.51.100.7", "duration": "2m", "reason": "scraping /wsapi"}`)
	if code != 201 {
		t.Fatalf("POST: %d %v", code, out)
	}
	code, _ = do("POST", "", `{"client": "2001:db8:aa:bb::1", "duration": "4m", "reason": "ipv6"}`)
	if code != 201 {
		t.Fatalf("POST v6: %d", code)
	}
	if !banned("198.51.100.7") || !banned("2001:db8:aa:bb:ffff::2") || banned("198.51.100.8") {
		t.Fatal("the bans do not apply at once, or apply to others")
	}
	d := a.Admit(clk.Now(), netip.MustParseAddr("198.51.100.7"), nil)
	if d.Allow || d.Status != 403 || d.RetryAfter != 2*time.Minute {
		t.Fatalf("Admit of the banned client: %+v", d)
	}

	_, out = do("GET", "", "")
	bans := out["bans"].([]any)
	if len(bans) != 2 {
		t.Fatalf("GET: %v", out)
	}
	first := bans[0].(map[string]any)
	if first["client"] != "198.51.100.7" || first["why"] != "admin" || first["reason"] != "scraping /wsapi" || first["by"] != "ops" {
		t.Fatalf("listed ban %v", first)
	}
	if second := bans[1].(map[string]any); second["client"] != "2001:db8:aa:bb::" {
		t.Fatalf("listed ban %v", second)
	}

	if code, _ := do("DELETE", "?client="+url.QueryEscape("198.51.100.7"), ""); code != 200 {
		t.Fatalf("DELETE: %d", code)
	}
	if banned("198.51.100.7") {
		t.Fatal("still banned after DELETE")
	}
	// The v6 ban ends on its own.
	clk.Set(t0.Add(4*time.Minute + time.Nanosecond))
	if banned("2001:db8:aa:bb::1") || len(a.Bans()) != 0 {
		t.Fatal("the ban outlived its duration")
	}

	audits := logs.FilterMessage("admin audit").All()
	want := []struct {
		action, client string
		dur            float64
		reason         string
	}{
		{"ban", "198.51.100.7", 120, "scraping /wsapi"},
		{"ban", "2001:db8:aa:bb::", 240, "ipv6"},
		{"lift", "198.51.100.7", 0, ""},
	}
	if len(audits) != len(want) {
		t.Fatalf("%d audit lines, want %d", len(audits), len(want))
	}
	for i, w := range want {
		f := audits[i].ContextMap()
		if audits[i].Level != zapcore.InfoLevel || f["action"] != w.action || f["client"] != w.client ||
			f["duration_s"] != w.dur || f["reason"] != w.reason || f["by"] != "ops" {
			t.Errorf("audit line %d: %v, want %+v", i, f, w)
		}
	}
}

// TestManualBanNote: an admin ban's reason is shown only while that ban
// stands; a ban the router makes afterwards is its own.
func TestManualBanNote(t *testing.T) {
	h := newHarness(t, banYAML)
	c := netip.MustParseAddr("198.51.100.7")
	if _, err := h.Ban(c, time.Minute, "test", "ops"); err != nil {
		t.Fatal(err)
	}
	if b := h.Bans(); len(b) != 1 || b[0].Why != "admin" || b[0].Reason != "test" {
		t.Fatalf("bans %+v", b)
	}
	h.clk.Set(t0.Add(2 * time.Minute))
	for range 4 {
		h.req(2*time.Minute, c.String(), "default")
	}
	if b := h.Bans(); len(b) != 1 || b[0].Why != "rejections" || b[0].Reason != "" {
		t.Fatalf("bans %+v", b)
	}
}
