package router

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
)

// TestBansHandlerPost adds, lists and lifts admin bans through the API,
// checking that they take effect at once and are audited.
func TestBansHandlerPost(t *testing.T) {
	h := newDecider(t, `
limits:
  default: {rate: 1/s, burst: 1}
abuse:
  ban: {after_rejections: 3, within: 10s, duration: 1m, max_duration: 4m}
  allow: [203.0.113.0/24]
`)
	a, clk := h.a, h.clk
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t).Core(), core))
	srv := httptest.NewServer(BansHandler(a, log, func(r *http.Request) string { return r.Header.Get("X-Who") }))
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
		c := netip.MustParseAddr(client)
		if c.Is6() {
			p, _ := c.Prefix(a.IPv6Prefix())
			c = p.Addr()
		}
		for _, b := range a.Bans() {
			if b.Client == c {
				return true
			}
		}
		return false
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
	clk.Set(refusalT0.Add(4*time.Minute + time.Nanosecond))
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

func TestBansHandler(t *testing.T) {
	h := newDecider(t, `
limits:
  default: {rate: 1/s, burst: 1}
abuse:
  ban: {after_rejections: 3, within: 10s, duration: 1m, max_duration: 4m}
`)
	for _, c := range []string{"198.51.100.7", "2001:db8:aa:bb::"} {
		for range 4 {
			h.req(0, c, "default")
		}
	}
	h.clk.Set(refusalT0.Add(10 * time.Second))
	srv := httptest.NewServer(BansHandler(h.a, zaptest.NewLogger(t), nil))
	defer srv.Close()

	do := func(method, client string) (*http.Response, map[string]any) {
		t.Helper()
		u := srv.URL
		if client != "" {
			u += "?client=" + url.QueryEscape(client)
		}
		req, _ := http.NewRequest(method, u, nil)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res, body
	}

	res, body := do("GET", "")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %v", res.StatusCode, res.Header)
	}
	bans := body["bans"].([]any)
	if len(bans) != 2 {
		t.Fatalf("GET: %v", body)
	}
	first := bans[0].(map[string]any)
	if first["client"] != "198.51.100.7" || first["why"] != "rejections" || first["level"] != 1.0 {
		t.Fatalf("ban %v", first)
	}

	tests := []struct {
		method, client string
		wantStatus     int
		wantBans       int
	}{
		{"DELETE", "", 400, 2},
		{"DELETE", "not-an-ip", 400, 2},
		{"DELETE", "198.51.100.0/24", 400, 2}, // not a single client
		{"DELETE", "fe80::1%eth0", 400, 2},
		{"DELETE", "192.0.2.1", 404, 2},
		{"DELETE", "198.51.100.7", 200, 1},
		{"DELETE", "198.51.100.7", 404, 1},
		{"DELETE", "2001:db8:aa:bb:1234::1", 200, 0}, // any address of the /64
		{"PUT", "", 405, 0},
	}
	for i, tt := range tests {
		res, body := do(tt.method, tt.client)
		if res.StatusCode != tt.wantStatus {
			t.Fatalf("step %d %s %q: %d %v, want %d", i, tt.method, tt.client, res.StatusCode, body, tt.wantStatus)
		}
		if n := len(h.a.Bans()); n != tt.wantBans {
			t.Fatalf("step %d: %d bans, want %d", i, n, tt.wantBans)
		}
	}
	if res, _ := do("PUT", ""); res.Header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	_, body = do("GET", "")
	if b, ok := body["bans"].([]any); !ok || len(b) != 0 {
		t.Fatalf("empty list: %v", body)
	}
}

func TestParseClient(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		wantErr bool
	}{
		{"192.0.2.1", "192.0.2.1", false},
		{" 192.0.2.1 ", "192.0.2.1", false},
		{"::ffff:192.0.2.1", "192.0.2.1", false},
		{"192.0.2.1/32", "192.0.2.1", false},
		{"::ffff:192.0.2.1/128", "192.0.2.1", false},
		{"2001:db8::1", "2001:db8::", false},
		{"2001:db8:0:0:ffff::1/64", "2001:db8::", false},
		{"2001:db8::/48", "", true},
		{"192.0.2.0/24", "", true},
		{"fe80::1%eth0", "", true},
		{"", "", true},
		{"1.2.3", "", true},
	}
	for _, tt := range tests {
		got, err := parseClient(tt.give, 64)
		if (err != nil) != tt.wantErr || (err == nil && got != netip.MustParseAddr(tt.want)) {
			t.Errorf("parseClient(%q) = %v, %v; want %s, err %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseClient(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "2001:db8::/64", "::ffff:1.2.3.4/128",
		"fe80::1%eth0", "", "1.2.3.4/33", "::/0", "0.0.0.0"} {
		f.Add(s, 64)
	}
	f.Fuzz(func(t *testing.T, s string, bits int) {
		v6bits := 1 + (bits%128+128)%128
		a, err := parseClient(s, v6bits)
		if err != nil {
			return
		}
		if !a.IsValid() || a.Is4In6() || a.Zone() != "" {
			t.Fatalf("parseClient(%q) = %v", s, a)
		}
		if a.Is6() {
			if p, _ := a.Prefix(v6bits); p.Addr() != a {
				t.Fatalf("parseClient(%q) = %v, not masked to /%d", s, a, v6bits)
			}
		}
		// The answer parses to itself.
		if b, err := parseClient(a.String(), v6bits); err != nil || b != a {
			t.Fatalf("parseClient(%q) = %v, then %v, %v", s, a, b, err)
		}
	})
}
