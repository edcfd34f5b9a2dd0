package router

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// An https target is reached with the backend's tls block: its CA, its
// client certificate (the target requires one) and its server name, over
// pooled connections; without the client certificate the target refuses
// the handshake and the client gets 502.
func TestBackendTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", nil)
	serverCert := newTestCert(t, dir, "app.internal", ca, "app.internal")
	client := newTestCert(t, dir, "router", ca)
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d", r.Proto, len(r.TLS.PeerCertificates))
	}))
	pair, err := tls.X509KeyPair(serverCert.certPEM, serverCert.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	be.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool(ca), ClientAuth: tls.RequireAndVerifyClientCert}
	var conns atomic.Int64
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.StartTLS()
	t.Cleanup(be.Close)

	_, base := startRouter(t, fmt.Sprintf(`
backends:
  app: {targets: [%s], tls: {ca_file: %s, cert_file: %s, key_file: %s, server_name: app.internal}}
  nocert: {targets: [%s], tls: {ca_file: %s, server_name: app.internal}}
routes:
  - {match: {path_prefix: /nocert}, backend: nocert}
  - {backend: app}
log: {access: false}
`, be.URL, ca.certFile, client.certFile, client.keyF, be.URL, ca.certFile))
	for range 5 {
		resp, err := http.Get(base + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "HTTP/1.1 1" {
			t.Fatalf("via the router: %d %q, want 200 over HTTP/1.1 with a client certificate", resp.StatusCode, b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to the target for 5 requests in a row, want 1 (pooled)", n)
	}
	resp, err := http.Get(base + "/nocert")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("without a client certificate: %d, want 502", resp.StatusCode)
	}
}
