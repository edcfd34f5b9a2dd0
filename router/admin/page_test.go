package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwark-router/bulwark/router"
)

// mount registers the admin handlers the way cmd/bulwark does.
func mount(t *testing.T, srv *router.Server, rec *Recorder) {
	t.Helper()
	s := newSampler(srv, rec)
	srv.Admin().Handle("/admin/api/status", s.StatusHandler())
	srv.Admin().Handle("/admin/{$}", PageHandler())
}

func fetch(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPageIsSelfContained(t *testing.T) {
	h := httptest.NewServer(PageHandler())
	defer h.Close()
	code, hdr, body := fetch(t, h.URL, "")
	if code != 200 || hdr.Get("Content-Type") != "text/html; charset=utf-8" || hdr.Get("Content-Security-Policy") == "" {
		t.Fatalf("%d %v", code, hdr)
	}
	// No external scripts, styles, images or fonts: every src/href is
	// absent, and the only absolute URL is the SVG namespace.
	if m := regexp.MustCompile(`(?i)\b(src|href)\s*=`).FindString(body); m != "" {
		t.Errorf("page loads an asset: %q", m)
	}
	for _, u := range regexp.MustCompile(`https?://[^"'\s]+`).FindAllString(body, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("external URL %q", u)
		}
	}
	for _, want := range []string{"/admin/api/status", "/admin/api/bans?client=", "/admin/api/clients/", "setInterval(refresh, 2000)", "<svg", "lift ban"} {
		if want == "<svg" {
			want = `createElementNS(SVGNS, tag)`
		}
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	req, _ := http.NewRequest("POST", h.URL, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// The admin endpoints live only on the admin listener: on the public one
// /admin/ is an unrouted path (404) or, with a catch-all route, goes to the
// backend like any other path.
func TestAdminUnreachableFromPublicListener(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", "app")
		io.WriteString(w, "backend")
	}))
	defer up.Close()
	for _, tt := range []struct {
		name   string
		routes string
		want   int
	}{
		{"no route", "[{match: {path_prefix: /api/}, backend: app}]", http.StatusNotFound},
		{"catch-all", "[{backend: app}]", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := NewRecorder(nil, nil)
			srv := startServer(t, fmt.Sprintf("backends: {app: {targets: [%s]}}\nroutes: %s\n", up.URL, tt.routes), rec)
			mount(t, srv, rec)
			pub, adm := "http://"+srv.Addr().String(), "http://"+srv.AdminAddr().String()
			for _, path := range []string{"/admin/", "/admin/api/status", "/admin/api/bans", "/metrics", "/debug/pprof/"} {
				code, hdr, body := fetch(t, pub+path, "")
				if code != tt.want || strings.Contains(body, "<html") || strings.Contains(body, "tracked_clients") {
					t.Errorf("public %s: %d %q", path, code, body)
				}
				if tt.want == 200 && hdr.Get("X-Backend") != "app" {
					t.Errorf("public %s not routed to the backend", path)
				}
			}
			if code, _, body := fetch(t, adm+"/admin/", ""); code != 200 || !strings.Contains(body, "<title>bulwark status</title>") {
				t.Errorf("admin /admin/: %d", code)
			}
			if code, _, body := fetch(t, adm+"/admin/api/status", ""); code != 200 || !strings.Contains(body, `"tracked_clients"`) {
				t.Errorf("admin /admin/api/status: %d", code)
			}
			if code, _, _ := fetch(t, adm+"/admin/nothing", ""); code != 404 {
				t.Errorf("admin /admin/nothing: %d", code)
			}
		})
	}
}

func TestAdminTokenGuardsPageAndAPI(t *testing.T) {
	rec := NewRecorder(nil, nil)
	srv := startServer(t, "admin: {listen: 127.0.0.1:0, token: s3cret}\nbackends: {app: {targets: [http://127.0.0.1:1]}}\nroutes: [{backend: app}]\n", rec)
	mount(t, srv, rec)
	adm := "http://" + srv.AdminAddr().String()
	for _, path := range []string{"/admin/", "/admin/api/status"} {
		if code, _, _ := fetch(t, adm+path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d", path, code)
		}
		if code, _, _ := fetch(t, adm+path, "s3cret"); code != 200 {
			t.Errorf("%s with token: %d", path, code)
		}
	}
}
