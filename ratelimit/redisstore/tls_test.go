package redisstore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/redistest"
)

// writeCA writes a CA and a certificate it signed for 127.0.0.1 as PEM
// files in dir: ca.pem, cert.pem, key.pem.
func writeCA(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLS: rediss:// with ca_file talks to a TLS-only server; without the
// CA (the system's roots) the server's certificate is refused.
func TestTLS(t *testing.T) {
	ca, cert, key := writeCA(t, t.TempDir())
	srv := redistest.StartTLS(t, cert, key, ca)
	url := "rediss://127.0.0.1:" + strconv.Itoa(srv.Port)
	s := newStoreCfg(t, &config.LimitStore{URL: url, CAFile: ca})
	b := Bucket{Key: "tls", Interval: 1e6, Tolerance: 1e9}
	if r, err := s.Take(b, Bucket{}); err != nil || !r.Allowed {
		t.Fatalf("take over TLS: %+v, %v", r, err)
	}
	bad := newStoreCfg(t, &config.LimitStore{URL: url})
	if _, err := bad.Take(b, Bucket{}); err == nil {
		t.Fatal("a certificate from an unknown CA was accepted")
	}
	if _, err := New(&config.LimitStore{URL: url, CAFile: key}, nil); err == nil {
		t.Fatal("a CA file without a certificate was accepted")
	}
}
