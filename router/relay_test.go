package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/clientip"
)

// relayBackend answers by path and reports, in the body, the request as it
// arrived: what the router sent on.
func relayBackend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen := map[string]any{
			"method": r.Method, "uri": r.RequestURI, "host": r.Host,
			"header": r.Header, "body": string(body), "trailer": r.Trailer,
			"length": r.ContentLength, "te": r.TransferEncoding,
		}
		report, _ := json.Marshal(seen)
		h := w.Header()
		switch r.URL.Path {
		case "/plain":
			h["Connection"] = []string{"X-Hop"}
			h.Set("X-Hop", "dropped")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", "Basic")
			h.Add("Set-Cookie", "a=1")
			h.Add("Set-Cookie", "b=2")
			h.Set("Content-Length", fmt.Sprint(len(report)))
			w.Write(report)
		case "/trailers":
			h.Set("Trailer", "X-Sum")
			w.Write(report)
			w.(http.Flusher).Flush()
			h.Set("X-Sum", "42")
			h.Set(http.TrailerPrefix+"X-Late", "late")
		case "/early":
			h.Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			h.Del("Link")
			h.Set("X-Final", "yes")
			w.Write(report)
		case "/chunked":
			w.Write(report[:len(report)/2])
			w.(http.Flusher).Flush()
			w.Write(report[len(report)/2:])
		case "/sse":
			h.Set("Content-Type", "Text/Event-Stream; charset=utf-8")
			fmt.Fprintf(w, "data: %s\n\n", report)
		case "/503":
			h.Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(report)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Write(report)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// relayCases are raw requests, each sent on a connection of its own.
// A case with want set is not compared: the relay's answer must contain
// want instead.
var relayCases = []struct{ name, req, want string }{
	{"hop-by-hop and forwarded fields", "GET /plain HTTP/1.1\r\nHost: app.test\r\n" +
		"Connection: keep-alive, X-Drop, x-also\r\nX-Drop: 1\r\nX-Also: 2\r\nKeep-Alive: 300\r\n" +
		"Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nTe: deflate, Trailers\r\n" +
		"X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2, 192.0.2.3\r\nX-Forwarded-Proto: https\r\n" +
		"X-Forwarded-Host: evil\r\nForwarded: for=192.0.2.9\r\nX-Request-Id: abcdef0123456789\r\n\r\n", ""},
	{"user agent kept, te without trailers", "GET /plain?a=1&b=%41 HTTP/1.1\r\nHost: app.test\r\nUser-Agent: t/1\r\nTe: gzip\r\nX-Forwarded-Proto: gopher\r\n\r\n", ""},
	{"body with a length", "POST /plain HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", ""},
	{"chunked body with a trailer", "POST /plain HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTrailer: X-Req-Sum\r\n\r\n" +
		"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Req-Sum: 5\r\n\r\n",
		// ReverseProxy clones the trailer map before the body is read
		// and so sends the trailer's name without its value.
		`"trailer":{"X-Req-Sum":["5"]}`},
	{"response trailers", "GET /trailers HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"early hints", "GET /early HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"chunked answer", "GET /chunked HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"event stream", "GET /sse HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"backend 503", "GET /503 HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"no content", "DELETE /empty HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	{"head", "HEAD /plain HTTP/1.1\r\nHost: app.test\r\n\r\n", ""},
	// ReverseProxy re-encodes such a query (dropping what net/url cannot
	// parse); the relay passes it on as the client sent it, as nginx does.
	{"query passed on as sent", "GET /q?a=1;b=2&c=%zz&d=%41+ HTTP/1.1\r\nHost: app.test\r\n\r\n",
		`"uri":"/q?a=1;b=2\u0026c=%zz\u0026d=%41+"`},
	{"expect", "PUT /plain HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
		// A body within server.body_buffer is in before it is forwarded
		// (net/http answered the 100-continue), so the backend is not
		// asked to expect it, where ReverseProxy passes Expect on.
		`"body":"ok","header":{"Content-Length":["2"],"X-Forwarded-For"`},
	{"http/1.0", "GET /plain HTTP/1.0\r\nHost: app.test\r\n\r\n", ""},
}

// TestRelayMatchesReverseProxy sends the same requests through the router
// and through httputil.ReverseProxy set up as the router once forwarded
// with it (refProxy), on both transports, from a trusted and an untrusted
// peer, and wants the same request at the backend and the same answer at
// the client.
func TestRelayMatchesReverseProxy(t *testing.T) {
	backend := relayBackend(t)
	yaml := fmt.Sprintf(`
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, backend.URL)
	defer func() { testTransport = "" }()
	for _, transport := range []string{"fast", "standard"} {
		testTransport = transport
		relaySrv, _ := startRouter(t, yaml)
		ref := refProxy(t, backend.URL, transport)
		for _, peer := range []string{"127.0.0.1", "127.0.0.2"} {
			for _, c := range relayCases {
				t.Run(transport+"/"+peer+"/"+c.name, func(t *testing.T) {
					got := rawExchange(t, relaySrv.Addr().String(), peer, c.req)
					if c.want != "" {
						if !strings.Contains(got, c.want) {
							t.Errorf("relay:\n%s\nwant %s in it", got, c.want)
						}
						return
					}
					want := rawExchange(t, ref, peer, c.req)
					// ReverseProxy passes the backend's 100 Continue on,
					// and net/http's server sends its own when the body is
					// first read: the client may get two, in either order
					// of the race. The relay sends one.
					want = strings.Replace(want, continueHead+continueHead, continueHead, 1)
					if got != want {
						t.Errorf("relay:\n%s\nReverseProxy:\n%s", got, want)
					}
				})
			}
		}
	}
}

// continueHead is how rawExchange describes a 100 Continue.
const continueHead = "100 Continue\n"

// refProxy serves, on loopback, httputil.ReverseProxy set up as the router
// once forwarded with it: the relay's reference. 127.0.0.1 is a trusted
// peer, whose X-Forwarded-For chain, X-Forwarded-Proto and request id are
// kept. It returns the address.
func refProxy(t *testing.T, backendURL, transport string) string {
	t.Helper()
	u, err := url.Parse(backendURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Backend{Transport: transport, ConnectTimeout: config.Duration(2 * time.Second),
		ResponseTimeout: config.Duration(10 * time.Second)}
	tr := newTransport(cfg, []*Target{{url: u}})
	trusted := netip.MustParsePrefix("127.0.0.1/32")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			peer, err := netip.ParseAddrPort(pr.In.RemoteAddr)
			isTrusted := err == nil && trusted.Contains(peer.Addr())
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", u.Host
			pr.Out.Host = ""
			if v := pr.In.Header["X-Forwarded-For"]; isTrusted && len(v) > 0 {
				pr.Out.Header["X-Forwarded-For"] = v
			}
			pr.SetXForwarded()
			if v := pr.In.Header.Get("X-Forwarded-Proto"); isTrusted && (v == "https" || v == "http") {
				pr.Out.Header.Set("X-Forwarded-Proto", v)
			}
			id := pr.In.Header.Get(clientip.RequestIDHeader)
			if !isTrusted || !clientip.ValidRequestID(id) {
				id = clientip.NewRequestID()
			}
			pr.Out.Header.Set(clientip.RequestIDHeader, id)
		},
		// The router puts the request id on every answer.
		ModifyResponse: func(res *http.Response) error {
			res.Header.Set(clientip.RequestIDHeader, res.Request.Header.Get(clientip.RequestIDHeader))
			return nil
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	s := httptest.NewServer(rp)
	t.Cleanup(func() {
		s.Close()
		if c, ok := tr.(interface{ Close() error }); ok {
			c.Close()
		} else if c, ok := tr.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	})
	return s.Listener.Addr().String()
}

// rawExchange sends req from the local address peer and describes what
// came back: every informational answer, then the final one with its body
// and trailers, with the fields that differ from run to run masked.
func rawExchange(t *testing.T, addr, peer, req string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(peer)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(req, " ")
	br := bufio.NewReader(conn)
	var out strings.Builder
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading the answer: %v (so far:\n%s)", err, out.String())
		}
		if resp.StatusCode < 200 {
			// The router's request id rides on informational answers too.
			resp.Header.Del(clientip.RequestIDHeader)
		}
		fmt.Fprintf(&out, "%s\n%s", resp.Status, dumpHeader(resp.Header))
		if resp.StatusCode < 200 {
			continue
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		fmt.Fprintf(&out, "length %d chunked %v\n%s\ntrailer:\n%s", resp.ContentLength,
			resp.TransferEncoding, maskReport(body), dumpHeader(resp.Trailer))
		return out.String()
	}
}

func dumpHeader(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		switch k {
		case "Date":
			continue
		case clientip.RequestIDHeader: // made up per request unless trusted
			if v := h[k]; len(v) == 1 && len(v[0]) == 32 {
				fmt.Fprintf(&b, "  %s: [ID]\n", k)
				continue
			}
		}
		fmt.Fprintf(&b, "  %s: %q\n", k, h[k])
	}
	return b.String()
}

// maskReport replaces the generated request id in a backend's report (the
// untrusted peer's, made up by the router) with a fixed one.
func maskReport(body []byte) string {
	s := string(body)
	const key = `"X-Request-Id":["`
	if i := strings.Index(s, key); i >= 0 {
		j := strings.Index(s[i+len(key):], `"`)
		s = s[:i+len(key)] + "ID" + s[i+len(key)+j:]
	}
	return s
}
