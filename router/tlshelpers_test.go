package router

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// testCert is a certificate and its key, in memory and in PEM files.
type testCert struct {
	cert           *x509.Certificate
	key            *ecdsa.PrivateKey
	certPEM        []byte
	keyPEM         []byte
	certFile, keyF string
}

// newTestCert makes a certificate for cn (and 127.0.0.1, localhost and
// names), signed by ca, or self-signed when ca is nil, and writes it to
// dir/cn.crt and dir/cn.key.
func newTestCert(t testing.TB, dir, cn string, ca *testCert, names ...string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     append([]string{"localhost"}, names...),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         ca == nil, BasicConstraintsValid: true,
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	tc := &testCert{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
	tc.certFile, tc.keyF = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	tc.writeTo(t, tc.certFile, tc.keyF)
	return tc
}

// writeTo writes the certificate and key to the files named.
func (c *testCert) writeTo(t testing.TB, certFile, keyFile string) {
	t.Helper()
	// The key first: a reader that sees the new certificate finds its key.
	for _, f := range []struct {
		name string
		b    []byte
	}{{keyFile, c.keyPEM}, {certFile, c.certPEM}} {
		tmp := f.name + ".tmp"
		if err := os.WriteFile(tmp, f.b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.name); err != nil {
			t.Fatal(err)
		}
	}
}

// pool is a CertPool of the certificates.
func pool(certs ...*testCert) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c.cert)
	}
	return p
}

// protoBackend answers with the request's X-Forwarded-Proto and protocol.
func protoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%s %s", r.Header.Get("X-Forwarded-Proto"), r.Proto)
	}))
	t.Cleanup(s.Close)
	return s
}

// startTLSRouter serves yaml (after listen and admin) with certPoll as the
// TLS files' check period.
func startTLSRouter(t *testing.T, yaml string, certPoll time.Duration) *Server {
	t.Helper()
	cfg, rt, log := newRouter(t, "listen: 127.0.0.1:0\nadmin: {listen: \"\"}\n"+yaml)
	srv := NewServer(cfg, rt, log)
	srv.certPoll = certPoll
	if err := srv.Start(nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopRouter(t, srv) })
	return srv
}

// h1Client speaks HTTP/1.1 over TLS, trusting roots.
func h1Client(t *testing.T, roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// h2Client speaks HTTP/2 over TLS, trusting roots.
func h2Client(t *testing.T, roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// h2cClient speaks HTTP/2 with prior knowledge over plain TCP.
func h2cClient(t *testing.T) *http.Client {
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// servedCert is the leaf certificate the router serves to a new
// connection asking for serverName.
func servedCert(t *testing.T, addr, serverName string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: serverName})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func tlsYAML(backend string, tlsBlock string, extra string) string {
	return fmt.Sprintf("tls: %s\nbackends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n%s", tlsBlock, backend, extra)
}

// writeFile replaces name's content at once.
func writeFile(name string, b []byte) error {
	if err := os.WriteFile(name+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}
