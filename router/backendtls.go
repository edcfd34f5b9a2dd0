package router

import (
	"crypto/tls"

	"github.com/bulwark-router/bulwark/config"
)

// backendTLSConfig is a backend's tls block as the client side of its
// https:// targets' connections: its CAs (else the system roots), its
// client certificate for mTLS, its server name (else each target's host).
// Nil when the block is absent. The files are read when the backend is
// built: at start and on each reload.
func backendTLSConfig(t *config.BackendTLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pool, err := config.LoadCAs(t.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// setBackendTLS gives tr's https connections tlsCfg; the pooled HTTP/1.1
// transport never carries https targets (newTransport).
func setBackendTLS(tr any, tlsCfg *tls.Config) {
	if ht, ok := tr.(*headTimeoutTransport); ok && tlsCfg != nil {
		ht.tr.TLSClientConfig = tlsCfg
	}
}
