package router

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// clientFrom returns an HTTP client whose connections come from src.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestForwardedHeadersSpoofing checks what the backend is told about the
// client, for trusted and untrusted peers.
func TestForwardedHeadersSpoofing(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"xff":   strings.Join(r.Header.Values("X-Forwarded-For"), ","),
			"proto": r.Header.Get("X-Forwarded-Proto"),
			"host":  r.Header.Get("X-Forwarded-Host"),
			"rid":   r.Header.Get("X-Request-Id"),
			"conn":  r.Header.Get("X-Hop"),
		})
	}))
	defer echo.Close()
	_, base := startRouter(t, fmt.Sprintf(`
client_ip: {trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, echo.URL))
	port := base[strings.LastIndexByte(base, ':'):]

	tests := []struct {
		name     string
		src      string // source address of the connection
		xff      []string
		rid      string
		proto    string
		wantXFF  string
		keepsRID bool
		wantProt string
	}{
		{name: "untrusted peer's XFF is dropped", src: "127.0.0.2", xff: []string{"6.6.6.6"},
			wantXFF: "127.0.0.2", rid: "abc-123", proto: "https", wantProt: "http"},
		{name: "untrusted peer without XFF", src: "127.0.0.3", wantXFF: "127.0.0.3"},
		{name: "trusted peer's chain is kept and the peer appended", src: "127.0.0.1",
			xff: []string{"203.0.113.7, 10.1.2.3"}, wantXFF: "203.0.113.7, 10.1.2.3, 127.0.0.1",
			rid: "abc-123", keepsRID: true, proto: "https", wantProt: "https"},
		{name: "trusted peer, several header lines", src: "127.0.0.1",
			xff: []string{"203.0.113.7", "10.1.2.3"}, wantXFF: "203.0.113.7, 10.1.2.3, 127.0.0.1"},
		{name: "trusted peer, malformed request id replaced", src: "127.0.0.1",
			rid: "bad id with spaces", wantXFF: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+tt.src+port+"/", nil)
			req.URL.Host = strings.TrimPrefix(base, "http://")
			req.Host = "public.example"
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if tt.rid != "" {
				req.Header.Set("X-Request-Id", tt.rid)
			}
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			req.Header.Set("Connection", "X-Hop")
			req.Header.Set("X-Hop", "must not pass")
			resp, err := clientFrom(tt.src).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got map[string]string
			json.NewDecoder(resp.Body).Decode(&got)
			if got["xff"] != tt.wantXFF {
				t.Errorf("X-Forwarded-For = %q, want %q", got["xff"], tt.wantXFF)
			}
			if got["host"] != "public.example" {
				t.Errorf("X-Forwarded-Host = %q", got["host"])
			}
			want := tt.wantProt
			if want == "" {
				want = "http"
			}
			if got["proto"] != want {
				t.Errorf("X-Forwarded-Proto = %q, want %q", got["proto"], want)
			}
			if tt.keepsRID != (got["rid"] == tt.rid) || got["rid"] == "" {
				t.Errorf("X-Request-Id = %q (sent %q, keep=%v)", got["rid"], tt.rid, tt.keepsRID)
			}
			if got["conn"] != "" {
				t.Errorf("hop-by-hop header passed: %q", got["conn"])
			}
		})
	}
}
