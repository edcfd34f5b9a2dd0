package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// TLS is the public listener's TLS. Its files are read at load (so -check
// proves them) and again by the router on SIGHUP and when they change.
type TLS struct {
	// CertFile and KeyFile are the default certificate chain and key (PEM),
	// served to clients whose server name matches no Certificates entry.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version"`
	// ClientCAFile, when set, requires every client (a load balancer) to
	// present a certificate signed by one of these CAs (mTLS).
	ClientCAFile string `yaml:"client_ca_file"`
	// Certificates are more certificates, chosen by the client's server
	// name (SNI) against their names.
	Certificates []CertFiles `yaml:"certificates"`
}

// CertFiles names a certificate chain and its key, PEM files.
type CertFiles struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// TLSVersion is MinVersion as a crypto/tls constant, 1.2 when unset.
func (t *TLS) TLSVersion() uint16 {
	if t.MinVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// Pairs are every certificate, the default one first.
func (t *TLS) Pairs() []CertFiles {
	return append([]CertFiles{{CertFile: t.CertFile, KeyFile: t.KeyFile}}, t.Certificates...)
}

// BackendTLS configures the connections to a backend's https:// targets.
type BackendTLS struct {
	// CAFile holds the CAs that sign the targets' certificates; empty
	// means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the router's client certificate (mTLS to
	// the application); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name checked in the targets' certificates (and
	// sent as SNI); empty means each target's host.
	ServerName string `yaml:"server_name"`
}

// HTTP2 bounds each HTTP/2 connection (over TLS, or h2c). A connection
// that crosses one is closed with GOAWAY and counted against its client.
type HTTP2 struct {
	// MaxConcurrentStreams is advertised to clients; a client that opens
	// more once it has acknowledged the limit is closed. Default 100.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// MaxResetsPerSecond caps the streams a client cancels (RST_STREAM)
	// per connection per second, and in all once it has cancelled over
	// half of its streams: Rapid Reset. Default 100.
	MaxResetsPerSecond int `yaml:"max_resets_per_second"`
	// MaxControlPerSecond caps SETTINGS and PING frames per connection per
	// second. Default 100.
	MaxControlPerSecond int `yaml:"max_control_per_second"`
	// MaxEmptyPerSecond caps frames that carry nothing (an empty DATA or
	// HEADERS or CONTINUATION frame without its end flag, PRIORITY) per
	// connection per second. Default 100.
	MaxEmptyPerSecond int `yaml:"max_empty_per_second"`
	// MaxContinuations caps the CONTINUATION frames of one header block;
	// the block's bytes are capped by server.max_header_bytes. Default 16.
	MaxContinuations int `yaml:"max_continuations"`
}

// DefaultHTTP2 is the HTTP/2 bounds a file leaves out.
func DefaultHTTP2() HTTP2 {
	return HTTP2{MaxConcurrentStreams: 100, MaxResetsPerSecond: 100, MaxControlPerSecond: 100,
		MaxEmptyPerSecond: 100, MaxContinuations: 16}
}

func (v *validator) tls() {
	h := v.c.Server.HTTP2
	for path, n := range map[string]int{
		"server.http2.max_concurrent_streams": h.MaxConcurrentStreams,
		"server.http2.max_resets_per_second":  h.MaxResetsPerSecond,
		"server.http2.max_control_per_second": h.MaxControlPerSecond,
		"server.http2.max_empty_per_second":   h.MaxEmptyPerSecond,
		"server.http2.max_continuations":      h.MaxContinuations,
	} {
		if n < 1 {
			v.fail(path, "must be at least 1")
		}
	}
	if t := v.c.TLS; t != nil {
		switch t.MinVersion {
		case "", "1.2", "1.3":
		default:
			v.fail("tls.min_version", "unknown version %q (want 1.2 or 1.3)", t.MinVersion)
		}
		if t.CertFile == "" || t.KeyFile == "" {
			v.fail("tls.cert_file", "cert_file and key_file are required with tls")
		} else {
			v.keyPair("tls.cert_file", t.CertFile, t.KeyFile)
		}
		for i, c := range t.Certificates {
			v.keyPair(fmt.Sprintf("tls.certificates[%d].cert_file", i), c.CertFile, c.KeyFile)
		}
		if t.ClientCAFile != "" {
			v.caFile("tls.client_ca_file", t.ClientCAFile)
		}
	}
	for _, name := range sortedKeys(v.c.Backends) {
		bt := v.c.Backends[name].TLS
		if bt == nil {
			continue
		}
		path := "backends." + name + ".tls"
		if bt.CAFile != "" {
			v.caFile(path+".ca_file", bt.CAFile)
		}
		if (bt.CertFile == "") != (bt.KeyFile == "") {
			v.fail(path+".cert_file", "cert_file and key_file go together")
		} else if bt.CertFile != "" {
			v.keyPair(path+".cert_file", bt.CertFile, bt.KeyFile)
		}
	}
}

func (v *validator) keyPair(path, cert, key string) {
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		v.fail(path, "%v", err)
	}
}

func (v *validator) caFile(path, file string) {
	if _, err := LoadCAs(file); err != nil {
		v.fail(path, "%v", err)
	}
}

// LoadCAs reads a PEM file of CA certificates.
func LoadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return pool, nil
}

// resolveTLSPaths makes the TLS files' relative paths relative to dir (the
// config file's), as token files are; "" keeps the working directory.
func (c *Config) resolveTLSPaths(dir string) {
	if dir == "" {
		return
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if t := c.TLS; t != nil {
		abs(&t.CertFile)
		abs(&t.KeyFile)
		abs(&t.ClientCAFile)
		for i := range t.Certificates {
			abs(&t.Certificates[i].CertFile)
			abs(&t.Certificates[i].KeyFile)
		}
	}
	for _, b := range c.Backends {
		if b != nil && b.TLS != nil {
			abs(&b.TLS.CAFile)
			abs(&b.TLS.CertFile)
			abs(&b.TLS.KeyFile)
		}
	}
}
