package router

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// echoBackend answers with the request it got as JSON (its path, raw path,
// request URI and header), and with a few response fields to edit.
func echoBackend(t *testing.T) string {
	t.Helper()
	s := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "echo")
		w.Header().Set("X-Internal", "secret")
		w.Header().Add("X-Multi", "one")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoed{Path: r.URL.Path, RawPath: r.URL.RawPath, URI: r.RequestURI, Header: r.Header})
	})
	return s.URL
}

type echoed struct {
	Path, RawPath, URI string
	Header             http.Header
}

func getEcho(t *testing.T, req *http.Request) (echoed, http.Header, int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e echoed
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
	}
	return e, resp.Header, resp.StatusCode
}

// A route's headers edit what its backend gets and what its client gets,
// with placeholders filled per request; another route is untouched, and
// the router's own fields cannot be overridden.
func TestRouteHeaderEdits(t *testing.T) {
	be := echoBackend(t)
	base, logs := startRouterLogs(t, `
backends:
  app: {targets: [`+be+`]}
routes:
  - match: {path_prefix: /edit/}
    backend: app
    stats: {name: edited}
    headers:
      request:
        set: {X-Client: '{client_ip}', X-Route: 'r={route}', User-Agent: bulwark-test}
        add: {X-Trace: 'id={request_id}', X-Tag: '{{literal}'}
        remove: [Cookie, x-secret]
      response:
        set: {Server: front, X-Seen-By: '{route}/{client_ip}'}
        add: {X-Multi: two}
        remove: [X-Internal]
  - {match: {path_prefix: /plain/}, backend: app}
`)
	req, _ := http.NewRequest("GET", base+"/edit/x", nil)
	req.Header.Set("Cookie", "a=b")
	req.Header.Set("X-Secret", "s")
	req.Header.Add("X-Trace", "client-sent")
	req.Header.Set("X-Client", "spoofed")
	e, h, code := getEcho(t, req)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	id := h.Get("X-Request-Id")
	if f := accessLine(t, logs, "/edit/x"); f["request_id"] != id {
		t.Errorf("answer's id %q, access line's %v", id, f["request_id"])
	}
	bh := e.Header
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"X-Client", []string{"127.0.0.1"}},
		{"X-Route", []string{"r=edited"}},
		{"User-Agent", []string{"bulwark-test"}},
		{"X-Trace", []string{"client-sent", "id=" + id}},
		{"X-Tag", []string{"{literal}"}},
		{"Cookie", nil},
		{"X-Secret", nil},
		{"X-Request-Id", []string{id}},
		{"X-Forwarded-For", []string{"127.0.0.1"}},
	} {
		if got := bh.Values(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("backend got %s %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"Server", []string{"front"}},
		{"X-Seen-By", []string{"edited/127.0.0.1"}},
		{"X-Multi", []string{"one", "two"}},
		{"X-Internal", nil},
		{"X-Request-Id", []string{id}},
	} {
		if got := h.Values(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("client got %s %q, want %q", tc.name, got, tc.want)
		}
	}

	// Each request gets its own values.
	req, _ = http.NewRequest("GET", base+"/edit/y", nil)
	e2, h2, _ := getEcho(t, req)
	if id2 := h2.Get("X-Request-Id"); id2 == id || e2.Header.Get("X-Trace") != "id="+id2 {
		t.Errorf("second request: id %q, backend's X-Trace %q", id2, e2.Header.Get("X-Trace"))
	}

	req, _ = http.NewRequest("GET", base+"/plain/x", nil)
	req.Header.Set("Cookie", "a=b")
	e, h, _ = getEcho(t, req)
	if e.Header.Get("Cookie") != "a=b" || e.Header.Get("X-Route") != "" || h.Get("Server") != "echo" || h.Get("X-Internal") != "secret" {
		t.Errorf("a route without edits was edited: backend got %v, client %v", e.Header, h)
	}
}
