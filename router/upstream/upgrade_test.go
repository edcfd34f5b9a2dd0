package upstream

import (
	"bufio"
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
