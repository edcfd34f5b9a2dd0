package router

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// TestUnaskedSwitchIsRefused: a backend answering 101 Switching Protocols
// to a request that did not ask for that switch gets the client a 502,
// never a tunnel. The client's next request on the same connection goes
// through routing again: the backend sees the X-Forwarded-For and
// X-Request-Id the router set, not the spoofed ones, and nothing reaches
// the switched backend connection.
func TestUnaskedSwitchIsRefused(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			sb := newSwitchBackend(t)
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, sb.url))
			for _, c := range []struct{ name, req string }{
				{"plain", "GET /switch HTTP/1.1\r\nHost: app.test\r\n\r\n"},
				{"plain, bare 101", "GET /switch-bare HTTP/1.1\r\nHost: app.test\r\n\r\n"},
				{"semicolon in the query", "GET /switch?a=1;b=2 HTTP/1.1\r\nHost: app.test\r\n\r\n"},
				{"bad escape in the query", "GET /switch?a=%zz HTTP/1.1\r\nHost: app.test\r\n\r\n"},
				{"expect", "PUT /switch HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"},
				{"unlisted upgrade", "GET /switch-as HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\n"},
				{"h2c upgrade", "GET /switch-as HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n"},
				{"another protocol than asked", "GET /switch HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"},
			} {
				t.Run(c.name, func(t *testing.T) {
					rc := dialRaw(t, base)
					rc.send(c.req)
					method, _, _ := strings.Cut(c.req, " ")
					resp, _, _ := readFinal(t, rc.br, method)
					if resp.StatusCode != 502 {
						t.Fatalf("status %d, want 502", resp.StatusCode)
					}
					if got := sb.tunnelled(t); got != "" {
						t.Fatalf("bytes reached the switched backend connection: %q", got)
					}
					rc.send("GET /next HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 192.0.2.66\r\nX-Request-Id: spoofedspoofed01\r\n\r\n")
					if resp.Close && connClosed(rc.br) {
						return // the router closed the connection: nothing more to route
					}
					resp, body, _ := readFinal(t, rc.br, "GET")
					if resp.StatusCode != 200 {
						t.Fatalf("next request: status %d, want 200", resp.StatusCode)
					}
					rep := parseReport(t, body)
					if got := rep.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
						t.Errorf("backend saw X-Forwarded-For %q, want the router's 127.0.0.1", got)
					}
					if got := rep.Header.Get("X-Request-Id"); got == "" || got == "spoofedspoofed01" {
						t.Errorf("backend saw X-Request-Id %q, want one the router made", got)
					}
				})
			}
		})
	}
}

// TestUpgradeOnlyToListedProtocols: an upgrade to a protocol outside
// server.upgrades, or to h2c, is forwarded as a plain request without its
// Upgrade and Connection fields; a listed one is tunnelled, and only the
// listed protocols of the request's Upgrade field are passed on.
func TestUpgradeOnlyToListedProtocols(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			sb := newSwitchBackend(t)
			_, base := startRouter(t, fmt.Sprintf(`
server: {upgrades: [WebSocket, echo]}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, sb.url))
			for _, c := range []struct{ name, head, forwarded string }{
				{"unlisted", "Connection: Upgrade\r\nUpgrade: evil\r\n", ""},
				{"h2c", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n", ""},
				{"no Connection: upgrade", "Upgrade: websocket\r\n", ""},
				{"listed, among others", "Connection: keep-alive, Upgrade\r\nUpgrade: h2c, evil/1, websocket\r\n", "websocket"},
				{"listed, other case", "Connection: upgrade\r\nUpgrade: ECHO/2\r\n", "ECHO/2"},
			} {
				t.Run(c.name, func(t *testing.T) {
					rc := dialRaw(t, base)
					rc.send("GET /report HTTP/1.1\r\nHost: app.test\r\n" + c.head + "\r\n")
					resp, body, _ := readFinal(t, rc.br, "GET")
					if resp.StatusCode != 200 {
						t.Fatalf("status %d, want 200", resp.StatusCode)
					}
					h := parseReport(t, body).Header
					if got := h.Get("Upgrade"); got != c.forwarded {
						t.Errorf("backend saw Upgrade %q, want %q", got, c.forwarded)
					}
					wantConn := ""
					if c.forwarded != "" {
						wantConn = "Upgrade"
					}
					if got := h.Get("Connection"); !strings.EqualFold(got, wantConn) {
						t.Errorf("backend saw Connection %q, want %q", got, wantConn)
					}
					if h.Get("Http2-Settings") != "" {
						t.Error("HTTP2-Settings reached the backend")
					}
				})
			}
		})
	}
}

// TestUpgradeTunnel: a listed upgrade that the backend accepts is tunnelled
// both ways, for bytes the client sent behind its request head and for
// what it sends after; the client's close ends the tunnel, and the request
// is counted with status 101 as it leaves the router.
func TestUpgradeTunnel(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			s := upgradeEcho(t)
			rec := &codeRecorder{}
			srv, base := startRouterWith(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], transport: %s}
routes: [{backend: app}]
`, s.URL, transport), Options{Recorder: rec})
			rc := dialRaw(t, base)
			rc.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: 192.0.2.66\r\n\r\nearly\n")
			resp, _, info := readFinal(t, rc.br, "GET")
			if resp.StatusCode != 101 || len(info) > 0 {
				t.Fatalf("status %d after %v, want 101 alone", resp.StatusCode, info)
			}
			if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
				t.Errorf("101 head: %v", resp.Header)
			}
			for _, msg := range []string{"early\n", "hello\n", strings.Repeat("x", 100<<10) + "\n"} {
				if msg != "early\n" {
					rc.send(msg)
				}
				got, err := rc.br.ReadString('\n')
				if err != nil || got != msg {
					t.Fatalf("echo: got %.40q %v, want %.40q", got, err, msg)
				}
			}
			rc.c.Close()
			deadline := time.Now().Add(5 * time.Second)
			for srv.Router().InFlight() > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the tunnel outlived the client's connection")
				}
				time.Sleep(time.Millisecond)
			}
			if got := rec.get(); fmt.Sprint(got) != "[101]" {
				t.Errorf("requests counted with %v, want [101]", got)
			}
		})
	}
}

// codeRecorder keeps the status each request was counted with.
type codeRecorder struct {
	stats.Nop
	mu    sync.Mutex
	codes []int
}

func (r *codeRecorder) Request(s *stats.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, s.Code)
}

func (r *codeRecorder) get() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.codes)
}

// TestUpgradeTunnelBackendClose: when the backend ends the tunnel, the
// client sees the end of the stream.
func TestUpgradeTunnelBackendClose(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			sb := newSwitchBackend(t)
			_, base := startRouter(t, fmt.Sprintf(`
server: {upgrades: [evil]}
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, sb.url))
			rc := dialRaw(t, base)
			rc.send("GET /switch-as HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\n")
			resp, _, _ := readFinal(t, rc.br, "GET")
			if resp.StatusCode != 101 {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			rc.send("through the tunnel")
			if tc, ok := rc.c.(*net.TCPConn); ok {
				tc.CloseWrite() // the backend reads until EOF, then closes
			}
			if got := sb.tunnelled(t); got != "through the tunnel" {
				t.Fatalf("backend got %q through the tunnel", got)
			}
			if rest, err := io.ReadAll(rc.br); err != nil || len(rest) != 0 {
				t.Fatalf("after the backend's close: %q, %v; want EOF", rest, err)
			}
		})
	}
}

// TestInformationalAnswers: a backend's early hints reach the client, up to
// a cap past which the client gets a 502; 100 Continue reaches the client
// once for a request that expects it, however many the backend sends, and
// never otherwise.
func TestInformationalAnswers(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			sb := newSwitchBackend(t)
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, sb.url))
			for _, c := range []struct {
				name, req string
				status    int
				info      string
			}{
				{"hints under the cap", "GET /hints?n=5 HTTP/1.1\r\nHost: x\r\n\r\n", 200, "[103 103 103 103 103]"},
				{"hints over the cap", "GET /hints?n=20 HTTP/1.1\r\nHost: x\r\n\r\n", 502, "[103 103 103 103 103]"},
				{"hints to HTTP/1.0", "GET /hints?n=2 HTTP/1.0\r\nHost: x\r\n\r\n", 200, "[]"},
				{"unasked continue", "GET /continue?n=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, "[]"},
				{"expected continue", "PUT /continue?n=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", 200, "[100]"},
				{"expected continue, sent twice", "PUT /continue?n=2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", 200, "[100]"},
			} {
				t.Run(c.name, func(t *testing.T) {
					rc := dialRaw(t, base)
					rc.send(c.req)
					method, _, _ := strings.Cut(c.req, " ")
					resp, _, info := readFinal(t, rc.br, method)
					if resp.StatusCode != c.status || fmt.Sprint(info) != c.info {
						t.Fatalf("got %v then %d, want %s then %d", info, resp.StatusCode, c.info, c.status)
					}
				})
			}
		})
	}
}

// TestExpectContinueOnce: a client that waits for 100 Continue before it
// sends its body gets exactly one, and its body reaches the backend.
func TestExpectContinueOnce(t *testing.T) {
	for _, transport := range []string{"fast", "standard"} {
		t.Run(transport, func(t *testing.T) {
			defer func() { testTransport = "" }()
			testTransport = transport
			sb := newSwitchBackend(t)
			_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s]}
routes: [{backend: app}]
`, sb.url))
			for _, n := range []int{0, 1, 2} {
				rc := dialRaw(t, base)
				rc.send(fmt.Sprintf("POST /continue?n=%d HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", n))
				resp, err := readContinue(rc.br)
				if err != nil || resp != 100 {
					t.Fatalf("backend sending %d: first answer %d, %v; want 100", n, resp, err)
				}
				rc.send("hello")
				final, body, info := readFinal(t, rc.br, "POST")
				if final.StatusCode != 200 || len(info) != 0 {
					t.Fatalf("backend sending %d: %v then %d after the first 100, want 200 alone", n, info, final.StatusCode)
				}
				if got := parseReport(t, body).Body; got != "hello" {
					t.Fatalf("backend got body %q", got)
				}
			}
		})
	}
}

// readContinue reads one answer head and returns its status.
func readContinue(br *bufio.Reader) (int, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if l == "\r\n" {
			break
		}
	}
	var code int
	_, err = fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	return code, err
}

// FuzzUpgradeProtocol: the protocol an upgrade request may switch to is
// one its Upgrade field lists, by a listed name, never h2c, and a token
// (with a token version) that a 101 naming it alone is taken to switch to.
func FuzzUpgradeProtocol(f *testing.F) {
	for _, c := range [][2]string{
		{"Upgrade", "websocket"}, {"keep-alive, upgrade", "h2c, WebSocket"}, {"Upgrade", "echo/2, websocket"},
		{"upgrade", "h2c"}, {"close", "websocket"}, {"Upgrade", " , websocket/ ,"}, {"Upgrade", "web socket"},
	} {
		f.Add(c[0], c[1])
	}
	allowed := []string{"websocket", "Echo"}
	f.Fuzz(func(t *testing.T, conn, up string) {
		h := http.Header{"Connection": {conn}, "Upgrade": {up}}
		p := upgradeProtocol(h, allowed)
		if p == "" {
			return
		}
		if !httpHasToken(h["Connection"], "upgrade") {
			t.Fatalf("%q chosen without Connection: upgrade (%q)", p, conn)
		}
		listed := false
		for _, item := range strings.Split(up, ",") {
			listed = listed || strings.TrimSpace(item) == p
		}
		name, version, versioned := strings.Cut(p, "/")
		if !listed || strings.EqualFold(name, "h2c") || !config.IsToken(name) || versioned && !config.IsToken(version) {
			t.Fatalf("%q chosen from %q", p, up)
		}
		if !strings.EqualFold(name, "websocket") && !strings.EqualFold(name, "echo") {
			t.Fatalf("%q is not an allowed protocol", p)
		}
		if !switchedTo(http.Header{"Connection": {"Upgrade"}, "Upgrade": {strings.ToUpper(p)}}, p) {
			t.Fatalf("a 101 switching to %q alone is refused", p)
		}
		if switchedTo(http.Header{"Connection": {"Upgrade"}, "Upgrade": {p + ", other"}}, p) {
			t.Fatalf("a 101 switching to %q and another is accepted", p)
		}
	})
}
