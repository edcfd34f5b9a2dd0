package router

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// get200 GETs url with c and returns the body of its 200.
func get200(t *testing.T, c *http.Client, url string) (string, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b), resp
}

// Over TLS the listener serves HTTP/1.1 and, chosen by ALPN, HTTP/2; the
// backend gets HTTP/1.1 with X-Forwarded-Proto: https either way.
func TestTLSServesHTTP1AndHTTP2(t *testing.T) {
	dir := t.TempDir()
	cert := newTestCert(t, dir, "server", nil)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s}", cert.certFile, cert.keyF), ""), 0)
	url := "https://" + srv.Addr().String() + "/x"
	for _, tc := range []struct {
		name   string
		client *http.Client
		proto  string
	}{
		{"h1", h1Client(t, pool(cert)), "HTTP/1.1"},
		{"h2", h2Client(t, pool(cert)), "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, resp := get200(t, tc.client, url)
			if resp.Proto != tc.proto {
				t.Errorf("client got %s, want %s", resp.Proto, tc.proto)
			}
			if body != "https HTTP/1.1" {
				t.Errorf("backend saw %q, want X-Forwarded-Proto https over HTTP/1.1", body)
			}
		})
	}
	// A plain HTTP request to the TLS listener gets no answer but TLS's.
	resp, err := http.Get("http://" + srv.Addr().String() + "/x")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain request to the TLS listener: %d", resp.StatusCode)
		}
	}
}

// h2c with prior knowledge is off by default and served with server.h2c;
// HTTP/1.1 goes on working on the same listener, and the backend sees
// X-Forwarded-Proto: http.
func TestH2CPriorKnowledge(t *testing.T) {
	be := protoBackend(t)
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("early_refusal=%v", early), func(t *testing.T) {
			_, base := startRouter(t, fmt.Sprintf("server: {h2c: true, early_refusal: %v}\nbackends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n", early, be.URL))
			body, resp := get200(t, h2cClient(t), base+"/x")
			if resp.ProtoMajor != 2 || body != "http HTTP/1.1" {
				t.Errorf("h2c: client %s, backend saw %q", resp.Proto, body)
			}
			body, resp = get200(t, http.DefaultClient, base+"/x")
			if resp.ProtoMajor != 1 || body != "http HTTP/1.1" {
				t.Errorf("h1: client %s, backend saw %q", resp.Proto, body)
			}
		})
	}
	_, base := startRouter(t, fmt.Sprintf("backends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n", be.URL))
	if resp, err := h2cClient(t).Get(base + "/x"); err == nil {
		resp.Body.Close()
		t.Errorf("h2c served without server.h2c: %s %d", resp.Proto, resp.StatusCode)
	}
}

// The certificate files are read again when they change: new connections
// get the new certificate while a connection opened before keeps working
// under the old one, and a file that does not load leaves the certificate
// in force.
func TestTLSCertificateReloadsOnFileChange(t *testing.T) {
	dir := t.TempDir()
	old := newTestCert(t, dir, "server", nil)
	next := newTestCert(t, t.TempDir(), "server", nil)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s}", old.certFile, old.keyF), ""), 10*time.Millisecond)
	addr := srv.Addr().String()
	url := "https://" + addr + "/x"
	kept := h1Client(t, pool(old)) // trusts only the old certificate
	get200(t, kept, url)

	next.writeTo(t, old.certFile, old.keyF)
	waitServed(t, addr, next)
	get200(t, kept, url) // its connection, opened under the old certificate, stays
	get200(t, h2Client(t, pool(next)), url)

	// A broken certificate file: logged, the one in force stays.
	if err := writeFile(old.certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) { // several checks of the files go by
		if got := servedCert(t, addr, ""); !bytes.Equal(got.Raw, next.cert.Raw) {
			t.Fatal("a broken certificate file replaced the certificate in force")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitServed waits until new connections to addr get want.
func waitServed(t *testing.T, addr string, want *testCert) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(servedCert(t, addr, "").Raw, want.cert.Raw) {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate is not served")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A reload (SIGHUP) reads the files too.
func TestTLSCertificateReloadsWithTheConfig(t *testing.T) {
	dir := t.TempDir()
	old := newTestCert(t, dir, "server", nil)
	next := newTestCert(t, t.TempDir(), "server", nil)
	be := protoBackend(t)
	yaml := tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s}", old.certFile, old.keyF), "")
	srv := startTLSRouter(t, yaml, time.Hour)
	next.writeTo(t, old.certFile, old.keyF)
	cfg, _ := srv.Config()
	if err := srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if got := servedCert(t, srv.Addr().String(), ""); !bytes.Equal(got.Raw, next.cert.Raw) {
		t.Error("the reload did not put the new certificate in force")
	}
}

// certificates are chosen by the client's server name; others get the
// default.
func TestTLSCertificateBySNI(t *testing.T) {
	dir := t.TempDir()
	def := newTestCert(t, dir, "default", nil)
	other := newTestCert(t, dir, "other", nil, "other.test")
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s, certificates: [{cert_file: %s, key_file: %s}]}",
		def.certFile, def.keyF, other.certFile, other.keyF), ""), 0)
	addr := srv.Addr().String()
	for name, want := range map[string]*testCert{"other.test": other, "localhost": def, "": def} {
		if got := servedCert(t, addr, name); !bytes.Equal(got.Raw, want.cert.Raw) {
			t.Errorf("server name %q got %s, want %s", name, got.Subject.CommonName, want.cert.Subject.CommonName)
		}
	}
}

// With client_ca_file, a client without a certificate from that CA is
// refused in the handshake; one with it is served.
func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	server := newTestCert(t, dir, "server", nil)
	ca := newTestCert(t, dir, "ca", nil)
	client := newTestCert(t, dir, "client", ca)
	stranger := newTestCert(t, dir, "stranger", nil)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s, client_ca_file: %s}",
		server.certFile, server.keyF, ca.certFile), ""), 0)
	url := "https://" + srv.Addr().String() + "/x"
	pair := func(c *testCert) tls.Certificate {
		p, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	get200(t, h1Client(t, pool(server), pair(client)), url)
	get200(t, h2Client(t, pool(server), pair(client)), url)
	for name, c := range map[string]*http.Client{
		"none":     h1Client(t, pool(server)),
		"stranger": h1Client(t, pool(server), pair(stranger)),
	} {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			t.Errorf("client certificate %s: served %d", name, resp.StatusCode)
		} else if !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "tls") {
			t.Errorf("client certificate %s: %v", name, err)
		}
	}
}
