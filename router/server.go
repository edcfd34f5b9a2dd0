package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
)

// Server owns the public and admin listeners around a Router, and its
// lifecycle: start, reload, drain. Its methods are safe for concurrent use.
type Server struct {
	log    *zap.Logger
	router *Router
	admin  *AdminMux

	mu       sync.Mutex // guards cfg and reloads
	cfg      *config.Config
	loadedAt time.Time
	reloads  []func(*config.Config) error

	pub, adm     *http.Server
	pubLn, admLn net.Listener
	wg           sync.WaitGroup
	serveErr     chan error
}

// NewServer prepares listeners' servers for rt; nothing listens until Start.
func NewServer(cfg *config.Config, rt *Router, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{log: log, router: rt, cfg: cfg, loadedAt: time.Now(), serveErr: make(chan error, 2)}
	s.admin = NewAdminMux(cfg.Admin.Token)
	sc := cfg.Server
	s.pub = &http.Server{
		Handler:           rt,
		ReadHeaderTimeout: sc.ReadHeaderTimeout.D(),
		ReadTimeout:       sc.ReadTimeout.D(),
		WriteTimeout:      sc.WriteTimeout.D(),
		IdleTimeout:       sc.IdleTimeout.D(),
		MaxHeaderBytes:    int(sc.MaxHeaderBytes),
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	s.adm = &http.Server{
		Handler:           s.admin,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}
	return s
}

// Admin returns the admin mux, for registering handlers before Start.
func (s *Server) Admin() *AdminMux { return s.admin }

// Router returns the served router.
func (s *Server) Router() *Router { return s.router }

// OnReload registers a function called with each new valid config, in order,
// before the router swaps its table. An error aborts the reload.
func (s *Server) OnReload(f func(*config.Config) error) {
	s.mu.Lock()
	s.reloads = append(s.reloads, f)
	s.mu.Unlock()
}

// WrapListener, when set before Start, wraps the public listener (PROXY
// protocol, per-client connection caps).
type ListenerWrapper func(net.Listener) net.Listener

// Start opens the listeners and serves in owned goroutines. wrap may be nil.
func (s *Server) Start(wrap ListenerWrapper) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	s.pubLn = ln
	if s.cfg.Admin.Listen != "" {
		aln, err := net.Listen("tcp", s.cfg.Admin.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listen %s: %w", s.cfg.Admin.Listen, err)
		}
		s.admLn = aln
		s.serve(s.adm, aln)
	}
	s.serve(s.pub, ln)
	return nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
}

// Errors delivers a listener's fatal error.
func (s *Server) Errors() <-chan error { return s.serveErr }

// Addr is the public listener's address (after Start).
func (s *Server) Addr() net.Addr { return s.pubLn.Addr() }

// AdminAddr is the admin listener's address, nil when it is off.
func (s *Server) AdminAddr() net.Addr {
	if s.admLn == nil {
		return nil
	}
	return s.admLn.Addr()
}

// Config returns the config in force and when it was loaded.
func (s *Server) Config() (*config.Config, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, s.loadedAt
}

// Reload applies a new validated config atomically. Listener addresses and
// server timeouts need a restart; a change to them is reported and ignored.
func (s *Server) Reload(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg.Listen != s.cfg.Listen || cfg.Admin != s.cfg.Admin ||
		cfg.Server != s.cfg.Server || cfg.ListenProxyProtocol != s.cfg.ListenProxyProtocol {
		s.log.Warn("listen, admin, listen_proxy_protocol and server settings change only on restart")
	}
	for _, f := range s.reloads {
		if err := f(cfg); err != nil {
			return err
		}
	}
	if err := s.router.Update(cfg); err != nil {
		return err
	}
	s.cfg, s.loadedAt = cfg, time.Now()
	return nil
}

// Shutdown drains: /__lbheartbeat__ turns 503, the listeners stop accepting,
// keep-alive connections close after their current request, and in-flight
// requests get until ctx ends to finish. The admin listener stays up until
// the public one is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.router.SetDraining(true)
	s.pub.SetKeepAlivesEnabled(false)
	err := s.pub.Shutdown(ctx)
	if err != nil {
		s.pub.Close()
	}
	actx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if aerr := s.adm.Shutdown(actx); aerr != nil {
		s.adm.Close()
	}
	s.wg.Wait()
	s.router.Close()
	return err
}
