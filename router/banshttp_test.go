package ratelimit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

func TestBansHandler(t *testing.T) {
	h := newHarness(t, banYAML)
	for _, c := range []string{"198.51.100.7", "2001:db8:aa:bb::"} {
		for range 4 {
			h.req(0, c, "default")
		}
	}
	h.clk.Set(t0.Add(10 * time.Second))
	srv := httptest.NewServer(h.BansHandler(nil))
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
		if n := len(h.Bans()); n != tt.wantBans {
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
		// And it is the table key the router's masked address would make.
		k := keyOf(a)
		if !k.is4() && k.masked(v6bits) != k {
			t.Fatalf("key not masked")
		}
	})
}
