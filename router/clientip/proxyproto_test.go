package clientip

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/bulwark-router/bulwark/config"
)

// proxyServer is a real http.Server on 127.0.0.1 behind ProxyListener. Its
// handler answers "remote=RemoteAddr client=CLIENT" and sets X-Handled, so a
// test can tell a handler's answer from net/http's own 400.
type proxyServer struct {
	addr string
	srv  *http.Server
	wg   sync.WaitGroup
}

func startProxyServer(t *testing.T, e *Extractor) *proxyServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &proxyServer{addr: l.Addr().String()}
	s.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client, _ := e.FromRequest(r)
			w.Header().Set("X-Handled", "1")
			io.WriteString(w, "remote="+r.RemoteAddr+" client="+client.String())
		}),
	}
	s.wg.Go(func() {
		if err := s.srv.Serve(ProxyListener(l, e, 2*time.Second)); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(func() {
		s.srv.Close()
		s.wg.Wait()
	})
	return s
}

// dialFrom connects to the server from a given loopback source address.
func (s *proxyServer) dialFrom(t *testing.T, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Skipf("cannot dial from %s (loopback aliases unavailable?): %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// roundTrip writes prefix (a PROXY header or nothing) and one request on c,
// and reads the response.
func roundTrip(t *testing.T, c net.Conn, prefix []byte, xff string) (status int, handled bool, body string) {
	t.Helper()
	req := "GET / HTTP/1.1\r\nHost: bulwark.test\r\nConnection: close\r\n"
	if xff != "" {
		req += "X-Forwarded-For: " + xff + "\r\n"
	}
	// The header and the request go in one write, as a load balancer sends
	// them.
	if _, err := c.Write(append(prefix, req+"\r\n"...)); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Handled") == "1", string(b)
}

func v1Header(src string, srcPort int) []byte {
	fam := "TCP4"
	if strings.Contains(src, ":") {
		fam = "TCP6"
	}
	dst := "127.0.0.1"
	if fam == "TCP6" {
		dst = "::1"
	}
	return []byte("PROXY " + fam + " " + src + " " + dst + " " + strconv.Itoa(srcPort) + " 8080\r\n")
}

func v2Header(t *testing.T, h *proxyproto.Header) []byte {
	t.Helper()
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProxyListener(t *testing.T) {
	// 127.0.0.1 is the trusted load balancer; 127.0.0.2 is anyone else.
	e := mustNew(t, config.ClientIP{TrustedProxies: []string{"127.0.0.1/32"}})
	s := startProxyServer(t, e)
	dst := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8080}

	tests := []struct {
		name        string
		from        string
		header      func(t *testing.T) []byte
		xff         string
		wantStatus  int
		wantHandled bool
		wantBody    string // prefix of the body
	}{
		{
			name:   "trusted v1 is used",
			from:   "127.0.0.1",
			header: func(*testing.T) []byte { return v1Header("203.0.113.7", 5555) },
			// The PROXY source is the peer now; it is not a trusted
			// proxy, so its X-Forwarded-For is not believed.
			xff:         "6.6.6.6",
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=203.0.113.7:5555 client=203.0.113.7",
		},
		{
			name:        "trusted v1 TCP6 is used",
			from:        "127.0.0.1",
			header:      func(*testing.T) []byte { return v1Header("2001:db8::7", 443) },
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=[2001:db8::7]:443 client=2001:db8::7",
		},
		{
			name: "trusted v2 is used",
			from: "127.0.0.1",
			header: func(t *testing.T) []byte {
				return v2Header(t, &proxyproto.Header{
					Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv6,
					SourceAddr:      &net.TCPAddr{IP: net.ParseIP("2001:db8::7"), Port: 4444},
					DestinationAddr: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},
				})
			},
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=[2001:db8::7]:4444 client=2001:db8::7",
		},
		{
			name: "trusted v2 TCP4 is used",
			from: "127.0.0.1",
			header: func(t *testing.T) []byte {
				return v2Header(t, proxyproto.HeaderProxyFromAddrs(2,
					&net.TCPAddr{IP: net.ParseIP("198.51.100.3"), Port: 1000}, dst))
			},
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=198.51.100.3:1000 client=198.51.100.3",
		},
		{
			name: "trusted v2 LOCAL keeps the socket peer",
			from: "127.0.0.1",
			header: func(t *testing.T) []byte {
				return v2Header(t, &proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC})
			},
			xff:         "203.0.113.9",
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=127.0.0.1:",
		},
		{
			name:        "trusted without header is served",
			from:        "127.0.0.1",
			header:      func(*testing.T) []byte { return nil },
			xff:         "203.0.113.9",
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=127.0.0.1:",
		},
		{
			name: "trusted v2 with a Unix source is refused",
			from: "127.0.0.1",
			header: func(t *testing.T) []byte {
				return v2Header(t, &proxyproto.Header{
					Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.UnixStream,
					SourceAddr:      &net.UnixAddr{Net: "unix", Name: "/run/a.sock"},
					DestinationAddr: &net.UnixAddr{Net: "unix", Name: "/run/b.sock"},
				})
			},
			wantStatus: 400,
		},
		{
			name:       "untrusted v1 is rejected",
			from:       "127.0.0.2",
			header:     func(*testing.T) []byte { return v1Header("203.0.113.7", 5555) },
			wantStatus: 400,
		},
		{
			name: "untrusted v2 is rejected",
			from: "127.0.0.2",
			header: func(t *testing.T) []byte {
				return v2Header(t, proxyproto.HeaderProxyFromAddrs(2,
					&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1000}, dst))
			},
			wantStatus: 400,
		},
		{
			name:        "untrusted plain HTTP is served",
			from:        "127.0.0.2",
			header:      func(*testing.T) []byte { return nil },
			xff:         "203.0.113.9",
			wantStatus:  200,
			wantHandled: true,
			wantBody:    "remote=127.0.0.2:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.dialFrom(t, tt.from)
			status, handled, body := roundTrip(t, c, tt.header(t), tt.xff)
			if status != tt.wantStatus || handled != tt.wantHandled {
				t.Fatalf("status %d handled %v (body %q), want %d handled %v", status, handled, body, tt.wantStatus, tt.wantHandled)
			}
			if !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("body %q, want prefix %q", body, tt.wantBody)
			}
			if tt.wantBody == "remote=127.0.0.1:" && !strings.HasSuffix(body, "client=203.0.113.9") {
				// A trusted peer without a PROXY header is a
				// trusted proxy whose X-Forwarded-For counts.
				t.Errorf("body %q: trusted peer's X-Forwarded-For not used", body)
			}
			if tt.wantBody == "remote=127.0.0.2:" && !strings.HasSuffix(body, "client=127.0.0.2") {
				t.Errorf("body %q: untrusted peer's X-Forwarded-For believed", body)
			}
		})
	}
}

// An untrusted peer cannot make Accept fail: the server keeps serving
// after it.
func TestProxyListenerKeepsServing(t *testing.T) {
	e := mustNew(t, config.ClientIP{TrustedProxies: []string{"127.0.0.1/32"}})
	s := startProxyServer(t, e)
	for i := range 3 {
		c := s.dialFrom(t, "127.0.0.2")
		if status, _, _ := roundTrip(t, c, v1Header("203.0.113.7", 1), ""); status != 400 {
			t.Fatalf("round %d: status %d, want 400", i, status)
		}
		c = s.dialFrom(t, "127.0.0.1")
		if status, _, body := roundTrip(t, c, v1Header("203.0.113.8", 2), ""); status != 200 || !strings.HasPrefix(body, "remote=203.0.113.8:2 ") {
			t.Fatalf("round %d: status %d body %q", i, status, body)
		}
	}
}

func TestProxyPolicyNeverErrors(t *testing.T) {
	e := mustNew(t, config.ClientIP{TrustedProxies: []string{"127.0.0.1/32"}})
	tests := []struct {
		up   net.Addr
		want proxyproto.Policy
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1}, proxyproto.USE},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 1}, proxyproto.USE},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 1}, proxyproto.REJECT},
		{&net.UnixAddr{Net: "unix", Name: "/x"}, proxyproto.REJECT},
		{nil, proxyproto.REJECT},
	}
	for _, tt := range tests {
		got, err := e.proxyPolicy(proxyproto.ConnPolicyOptions{Upstream: tt.up})
		if err != nil || got != tt.want {
			t.Errorf("policy(%v) = %v, %v; want %v", tt.up, got, err, tt.want)
		}
	}
}
