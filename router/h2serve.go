package router

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"
)

// TLS and HTTP/2 on the public listener.
//
// With tls the listener is crypto/tls's and net/http serves it directly:
// net/http does the handshake in each connection's goroutine, sets
// Request.TLS (so X-Forwarded-Proto says https), and hands a connection
// that chose h2 by ALPN to x/net/http2 through TLSNextProto. The connection
// front (server.early_refusal) stays on plain listeners: it answers
// refusals straight from the socket's descriptor, which a TLS connection
// does not have, and its saving (net/http's per-request machinery) is small
// beside the record layer's cost on every byte.
//
// h2c with prior knowledge (server.h2c) is net/http's own detection of the
// preface on a plain connection (Protocols.UnencryptedHTTP2), which then
// goes through TLSNextProto's "unencrypted_http2" to the same server.
//
// Every HTTP/2 connection is served by x/net/http2 over an h2Conn, which
// applies server.http2's bounds, and every stream is a request to the same
// handler as HTTP/1.1's.

// certPollEvery is how often the TLS files are checked for a change.
const certPollEvery = time.Second

// configureTLS loads the certificates and sets up HTTP/2 on the public
// server, as the config asks; nothing when it asks for neither.
func (s *Server) configureTLS() error {
	cfg := s.cfg
	if cfg.TLS == nil && !cfg.Server.H2C {
		return nil
	}
	lim := cfg.Server.HTTP2
	h2 := &http2.Server{
		MaxConcurrentStreams: uint32(lim.MaxConcurrentStreams),
		IdleTimeout:          cfg.Server.IdleTimeout.D(),
	}
	if err := http2.ConfigureServer(s.pub, h2); err != nil {
		return err
	}
	maxHdr := int(cfg.Server.MaxHeaderBytes)
	serve := func(hs *http.Server, c net.Conn, h http.Handler, sawPreface bool) {
		gc, hc := s.router.guardH2(c, lim, maxHdr)
		srv := *h2 // per connection, for a CountError of its own
		srv.CountError = hc.countError
		ctx := context.Background()
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext() // net/http's, for its own use (see http2.ConfigureServer)
		}
		srv.ServeConn(gc, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs, SawClientPreface: sawPreface})
	}
	s.pub.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		serve(hs, c, h, false)
	}
	const unencrypted = "unencrypted_http2" // net/http's key for h2c with prior knowledge
	if cfg.Server.H2C && cfg.TLS == nil {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		s.pub.Protocols = &p
		s.pub.TLSNextProto[unencrypted] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
			nc, ok := c.NetConn().(interface{ UnencryptedNetConn() net.Conn })
			if !ok {
				c.Close()
				return
			}
			serve(hs, nc.UnencryptedNetConn(), h, true)
		}
	} else {
		delete(s.pub.TLSNextProto, unencrypted)
	}
	if cfg.TLS != nil {
		cs, err := newCertStore(cfg.TLS, []string{http2.NextProtoTLS, "http/1.1"}, s.log.Named("tls"))
		if err != nil {
			return err
		}
		s.certs = cs
	}
	return nil
}

// watchCerts reloads the certificates when their files change, until
// Shutdown.
func (s *Server) watchCerts() {
	if s.certs == nil {
		return
	}
	s.stopWatch = make(chan struct{})
	period := s.certPoll
	if period <= 0 {
		period = certPollEvery
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.certs.watch(period, s.stopWatch)
	}()
}
