package router

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
)

// certStore holds the public listener's TLS configuration and swaps it whole
// when its files change: each handshake takes the configuration in force
// when it begins (GetConfigForClient), so a swap never touches a connection
// already open.
type certStore struct {
	log  *zap.Logger
	next []string // ALPN protocols offered

	cur atomic.Pointer[tls.Config]

	mu    sync.Mutex // guards files, stamp and reloads
	files *config.TLS
	stamp string // the files' sizes and times when last loaded
}

// newCertStore loads t's files; an error means the listener cannot start.
func newCertStore(t *config.TLS, next []string, log *zap.Logger) (*certStore, error) {
	cs := &certStore{log: log, next: next}
	if err := cs.load(t); err != nil {
		return nil, err
	}
	return cs, nil
}

// serverConfig is the listener's configuration: it hands each handshake
// the current one.
func (cs *certStore) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: cs.next,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return cs.cur.Load(), nil
		},
	}
}

// load reads t's files and, when they all load, puts them in force.
func (cs *certStore) load(t *config.TLS) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	stamp := fileStamp(t)
	cfg, err := buildServerTLS(t, cs.next)
	if err != nil {
		return err
	}
	cs.cur.Store(cfg)
	cs.files, cs.stamp = t, stamp
	return nil
}

// reload loads t's files (a new config's, on SIGHUP), logging the outcome;
// on an error the certificates in force stay.
func (cs *certStore) reload(t *config.TLS, why string) error {
	err := cs.load(t)
	if err != nil {
		cs.log.Error("TLS files do not load; the certificates in force stay", zap.String("on", why), zap.Error(err))
		return err
	}
	cs.log.Info("TLS certificates loaded", zap.String("on", why))
	return nil
}

// changed reports whether the files differ from those last loaded (or
// tried: a bad file is not retried until it changes again).
func (cs *certStore) changed() (*config.TLS, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	stamp := fileStamp(cs.files)
	if stamp == cs.stamp {
		return nil, false
	}
	cs.stamp = stamp
	return cs.files, true
}

// watch reloads the files when they change, checking every period, until
// stop is closed. Polling the files' sizes and times needs no notification
// API and follows a symlink swap (Kubernetes secrets) as well as a rewrite.
func (cs *certStore) watch(period time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if files, ok := cs.changed(); ok {
				cs.reload(files, "file change")
			}
		}
	}
}

// fileStamp sums up the files' sizes and modification times.
func fileStamp(t *config.TLS) string {
	var out []byte
	for _, name := range tlsFiles(t) {
		fi, err := os.Stat(name)
		if err != nil {
			out = fmt.Appendf(out, "%s:missing;", name)
			continue
		}
		out = fmt.Appendf(out, "%s:%d:%d;", name, fi.Size(), fi.ModTime().UnixNano())
	}
	return string(out)
}

func tlsFiles(t *config.TLS) []string {
	var out []string
	for _, p := range t.Pairs() {
		out = append(out, p.CertFile, p.KeyFile)
	}
	if t.ClientCAFile != "" {
		out = append(out, t.ClientCAFile)
	}
	return out
}

// buildServerTLS is t as a tls.Config. crypto/tls serves the first
// certificate, in order, that holds the client's server name, and the
// first one (the default) when none does.
func buildServerTLS(t *config.TLS, next []string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: t.TLSVersion(), NextProtos: next}
	for _, p := range t.Pairs() {
		c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = append(cfg.Certificates, c)
	}
	if t.ClientCAFile != "" {
		pool, err := config.LoadCAs(t.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
