package router

import (
	"bytes"
	"context"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Real clients against the TLS and h2c listeners: curl, openssl s_client,
// h2load. Each is skipped when missing, but under CI=true.

// runTool runs name args within 30s and returns its stdout.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &errb, strings.NewReader("")
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %v: %s", name, err, errb.String())
	}
	return out.String(), err
}

func TestCurlHTTP2(t *testing.T) {
	curl := testutil.Tool(t, "curl", "")
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", nil)
	server := newTestCert(t, dir, "server", ca)
	client := newTestCert(t, dir, "client", ca)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s, client_ca_file: %s}",
		server.certFile, server.keyF, ca.certFile), ""), 0)
	url := "https://" + srv.Addr().String() + "/x"
	out, err := runTool(t, curl, "-sS", "--http2", "--cacert", ca.certFile, "--cert", client.certFile, "--key", client.keyF,
		"-w", " %{http_version} %{http_code}", url)
	if err != nil || out != "https HTTP/1.1 2 200" {
		t.Errorf("curl --http2 with a client certificate: %q %v", out, err)
	}
	if out, err := runTool(t, curl, "-sS", "--http2", "--cacert", ca.certFile, url); err == nil {
		t.Errorf("curl without a client certificate was served: %q", out)
	}

	_, base := startRouter(t, fmt.Sprintf("server: {h2c: true}\nbackends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n", be.URL))
	out, err = runTool(t, curl, "-sS", "--http2-prior-knowledge", "-w", " %{http_version} %{http_code}", base+"/x")
	if err != nil || out != "http HTTP/1.1 2 200" {
		t.Errorf("curl --http2-prior-knowledge: %q %v", out, err)
	}
}

// h2load: every request succeeds over TLS (h2 by ALPN) and over h2c.
func TestH2Load(t *testing.T) {
	h2load := testutil.Tool(t, "h2load", "")
	dir := t.TempDir()
	cert := newTestCert(t, dir, "server", nil)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s}", cert.certFile, cert.keyF), ""), 0)
	_, base := startRouter(t, fmt.Sprintf("server: {h2c: true}\nbackends:\n  app: {targets: [%s]}\nroutes:\n  - {backend: app}\nlog: {access: false}\n", be.URL))
	done := regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed`)
	for _, url := range []string{"https://" + srv.Addr().String() + "/x", base + "/x"} {
		out, err := runTool(t, h2load, "-n", "2000", "-c", "10", "-m", "10", url)
		m := done.FindStringSubmatch(out)
		if err != nil || m == nil || m[3] != "2000" || m[4] != "0" {
			t.Errorf("h2load %s: %v\n%s", url, err, out)
		}
	}
}

// A certificate rotated on disk under load: no request fails, and a new
// connection (openssl s_client) gets the new certificate.
func TestCertificateRotationUnderLoad(t *testing.T) {
	openssl := testutil.Tool(t, "openssl", "")
	dir := t.TempDir()
	ca := newTestCert(t, dir, "ca", nil)
	old := newTestCert(t, dir, "old-cert", ca)
	next := newTestCert(t, t.TempDir(), "new-cert", ca)
	be := protoBackend(t)
	srv := startTLSRouter(t, tlsYAML(be.URL, fmt.Sprintf("{cert_file: %s, key_file: %s}", old.certFile, old.keyF), ""), 10*time.Millisecond)
	addr := srv.Addr().String()
	subject := func() string {
		out, err := runTool(t, openssl, "s_client", "-connect", addr, "-servername", "localhost", "-CAfile", ca.certFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "subject=") {
				return l
			}
		}
		t.Fatalf("no subject in s_client's output:\n%s", out)
		return ""
	}
	if s := subject(); !strings.Contains(s, "old-cert") {
		t.Fatalf("before: %s", s)
	}

	// Keep-alive and new connections, HTTP/1.1 and HTTP/2, throughout.
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	url := "https://" + addr + "/x"
	for i, c := range []*http.Client{h1Client(t, pool(ca)), h2Client(t, pool(ca)), h1Client(t, pool(ca)), h2Client(t, pool(ca))} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if i >= 2 && n%10 == 0 {
					c.CloseIdleConnections() // a new handshake now and then
				}
				resp, err := c.Get(url)
				if err == nil {
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					t.Logf("failed: %v", err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // load before the rotation
	next.writeTo(t, old.certFile, old.keyF)
	deadline := time.Now().Add(5 * time.Second)
	for s := subject(); !strings.Contains(s, "new-cert"); s = subject() {
		if time.Now().After(deadline) {
			t.Fatalf("s_client still gets %s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // load after it
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("%d requests failed, %d succeeded across the rotation", failed.Load(), ok.Load())
	}
	t.Logf("%d requests across the rotation, none failed", ok.Load())
}
