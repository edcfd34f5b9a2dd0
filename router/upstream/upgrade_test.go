package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestUpgradeEcho: a WebSocket-style upgrade through ReverseProxy. The 101
// body is the raw connection, bytes flow both ways, and the connection
// leaves the pool.
func TestUpgradeEcho(t *testing.T) {
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" || r.Header.Get("Connection") != "Upgrade" {
			http.Error(w, "not an upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhi:")
		brw.Flush()
		io.Copy(c, brw)
	})
	tr := newTransport(t, Options{MaxConnsPerTarget: 1})
	f := newFront(t, tr, be.URL)

	c, err := net.Dial("tcp", f.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	io.WriteString(c, "ping")
	buf := make([]byte, 7)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "hi:ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	// The upgraded connection does not count against MaxConnsPerTarget: a
	// plain request still gets through while the tunnel is open.
	if r2, err := get(t, tr, be.URL+"/plain"); err != nil {
		t.Fatalf("request beside the tunnel: %v", err)
	} else {
		readAll(t, r2)
	}
	c.Close()
	f.wait(t)
	s := tr.Stats()
	if s.Upgrades != 1 || s.Targets[target(t, be.URL)].Open != 1 || s.Targets[target(t, be.URL)].Idle != 1 {
		t.Errorf("stats = %+v, want one upgrade and only the plain connection open", s)
	}
}

// TestUnaskedUpgrade: a 101 is passed on only for a request that asked to
// upgrade (Upgrade with Connection: upgrade) and offered every protocol
// the answer switches to; otherwise it is an error and the connection is
// closed, and the router's ReverseProxy answers 502.
func TestUnaskedUpgrade(t *testing.T) {
	tests := []struct {
		name            string
		upgrade, conn   string // the request's Upgrade and Connection
		answer          string // the 101's Upgrade
		wantSwitch      bool
		wantProxyStatus int
	}{
		{"no upgrade asked", "", "", "echo", false, http.StatusBadGateway},
		{"Upgrade without Connection", "echo", "", "echo", false, http.StatusBadGateway},
		{"other protocol", "echo", "Upgrade", "other", false, http.StatusBadGateway},
		{"no protocol named", "echo", "Upgrade", "", false, http.StatusBadGateway},
		{"one more than offered", "echo", "Upgrade", "echo, other", false, http.StatusBadGateway},
		{"offered", "echo", "upgrade", "echo", true, http.StatusSwitchingProtocols},
		// ReverseProxy wants the whole Upgrade fields to match.
		{"one of those offered, other case", "other, echo/2", "keep-alive, Upgrade", "Echo/2", true, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			if tt.answer != "" {
				answer += "Upgrade: " + tt.answer + "\r\n"
			}
			answer += "\r\n"
			closed := make(chan struct{}, 2)
			srv := answerOnce(t, answer, closed)
			tr := newTransport(t, Options{})
			req, _ := http.NewRequest("GET", srv.URL(), nil)
			if tt.upgrade != "" {
				req.Header.Set("Upgrade", tt.upgrade)
			}
			if tt.conn != "" {
				req.Header.Set("Connection", tt.conn)
			}
			resp, err := tr.RoundTrip(req)
			if tt.wantSwitch {
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("got %v, %v; want the switch", resp, err)
				}
				resp.Body.Close()
			} else if !errors.Is(err, ErrUnaskedUpgrade) {
				if err == nil {
					resp.Body.Close()
				}
				t.Fatalf("err = %v, want ErrUnaskedUpgrade", err)
			}
			<-closed
			s := tr.Stats()
			if s.Closed != 1 || s.Retries != 0 || s.Targets[target(t, srv.URL())].Open != 0 {
				t.Errorf("stats = %+v, want the connection closed", s)
			}

			// Through ReverseProxy, as the router forwards upgrades.
			f := newFront(t, tr, srv.URL())
			c, err := net.Dial("tcp", f.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			head := "GET / HTTP/1.1\r\nHost: front\r\n"
			if tt.upgrade != "" {
				head += "Upgrade: " + tt.upgrade + "\r\n"
			}
			if tt.conn != "" {
				head += "Connection: " + tt.conn + "\r\n"
			}
			io.WriteString(c, head+"\r\n")
			presp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			if presp.StatusCode != tt.wantProxyStatus {
				t.Errorf("through the proxy: %d, want %d", presp.StatusCode, tt.wantProxyStatus)
			}
			c.Close()
			f.wait(t)
		})
	}
}
