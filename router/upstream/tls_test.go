package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testTLS returns httptest's server and client TLS configurations.
func testTLS(t *testing.T) (server, client *tls.Config) {
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	defer ts.Close()
	return ts.TLS.Clone(), ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// TestHTTPSNotTaken: https targets are not this transport's (the router
// gives them to http.Transport, whose read loop reads idle connections
// through TLS).
func TestHTTPSNotTaken(t *testing.T) {
	tr := newTransport(t, Options{})
	if _, err := get(t, tr, "https://127.0.0.1:1/"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Fatalf("err = %v, want ErrUnsupportedScheme", err)
	}
}

// TestTLSUnsolicited: over TLS 1.3, where a backend sends records nobody
// asked for (session tickets), a connection is still reused; application
// bytes after an answer retire it, and the next request gets its own
// answer. This transport sees TLS only as a custom Dialer's *tls.Conn,
// which it looks at through the wrapper; http.Transport, which the router
// uses for https targets, is run against the same backend.
func TestTLSUnsolicited(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	tests := []struct {
		name  string
		sc    script
		reuse bool
	}{
		{"keep-alive", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"}, true},
		{"second answer later", script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", late: poison}, false},
		{"body after 204", script{first: "HTTP/1.1 204 No Content\r\n\r\n" + poison}, false},
	}
	for _, tt := range tests {
		for _, std := range []bool{false, true} {
			name := tt.name + "/upstream"
			if std {
				name = tt.name + "/std"
			}
			t.Run(name, func(t *testing.T) {
				sc := tt.sc
				sc.tls = serverTLS
				srv := newScriptServer(t, sc)
				u := srv.URL()
				var tr http.RoundTripper
				var ours *Transport
				if std {
					st := stdTransport()
					st.TLSClientConfig = clientTLS
					t.Cleanup(st.CloseIdleConnections)
					tr, u = st, "https://"+strings.TrimPrefix(u, "http://")
				} else {
					d := &net.Dialer{}
					ours = newTransport(t, Options{Dialer: dialerFunc(func(network, addr string) (net.Conn, error) {
						c, err := d.Dial(network, addr)
						if err != nil {
							return nil, err
						}
						cfg := clientTLS.Clone()
						cfg.ServerName, _, _ = net.SplitHostPort(addr)
						tc := tls.Client(c, cfg)
						if err := tc.HandshakeContext(context.Background()); err != nil {
							c.Close()
							return nil, err
						}
						return tc, nil
					})})
					tr = ours
				}
				if got := outcome(tr, "GET", u+"/first", nil); !strings.HasPrefix(got, "20") {
					t.Fatalf("first answer %q", got)
				}
				if tt.sc.late != "" {
					close(srv.late)
					<-srv.lateSent
					if !std {
						waitPooledBytes(t, ours, target(t, u))
					}
				}
				if std && !tt.reuse {
					<-srv.gone
				}
				for _, path := range []string{"/second", "/third"} {
					if got := outcome(tr, "GET", u+path, nil); got != "200 "+path {
						t.Fatalf("%s: answer %q, want its own", path, got)
					}
				}
				if i, _ := srv.servedOn("/third"); (i == 0) != tt.reuse {
					t.Errorf("/third served on connection %d; reuse wanted: %v", i, tt.reuse)
				}
				if std {
					return
				}
				if s := ours.Stats(); tt.reuse && s.Dials != 1 || !tt.reuse && s.Unsolicited != 1 {
					t.Errorf("stats %+v", s)
				}
			})
		}
	}
}

// filterConn wraps a socket as TLS does, with records of its own: it
// drops NUL bytes (its "records") and reads on for application bytes.
type filterConn struct{ net.Conn }

func (f filterConn) NetConn() net.Conn { return f.Conn }

func (f filterConn) Read(p []byte) (int, error) {
	for {
		n, err := f.Conn.Read(p)
		m := 0
		for _, b := range p[:n] {
			if b != 0 {
				p[m] = b
				m++
			}
		}
		if m > 0 || err != nil {
			return m, err
		}
	}
}

// TestWrappedRecords: records a wrapping conn consumes itself (TLS 1.3
// session tickets or key updates arriving while idle) don't retire it;
// application bytes do.
func TestWrappedRecords(t *testing.T) {
	for _, tt := range []struct {
		name, late string
		reuse      bool
	}{
		{"records only", "\x00\x00\x00", true},
		{"records and bytes", "\x00" + poison, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServer(t, script{first: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", late: tt.late})
			d := &net.Dialer{}
			tr := newTransport(t, Options{Dialer: dialerFunc(func(network, addr string) (net.Conn, error) {
				c, err := d.Dial(network, addr)
				return filterConn{c}, err
			})})
			if got := outcome(tr, "GET", srv.URL()+"/first", nil); got != "200 one" {
				t.Fatalf("first answer %q", got)
			}
			close(srv.late)
			<-srv.lateSent
			waitPooled(t, tr, target(t, srv.URL()), func(c *conn) bool { // the socket under the wrapper has them
				return c.peekRaw(c.inner) == sockData
			})
			for _, path := range []string{"/second", "/third"} {
				if got := outcome(tr, "GET", srv.URL()+path, nil); got != "200 "+path {
					t.Fatalf("%s: answer %q, want its own", path, got)
				}
			}
			i, _ := srv.servedOn("/second")
			if s := tr.Stats(); (i == 0) != tt.reuse || tt.reuse && s.Unsolicited != 0 || !tt.reuse && s.Unsolicited != 1 {
				t.Errorf("/second on connection %d, stats %+v; want reuse %v", i, s, tt.reuse)
			}
		})
	}
}
