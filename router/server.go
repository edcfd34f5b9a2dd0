package router

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/front"
)

// Server owns the public and admin listeners around a Router, and its
// lifecycle: start, reload, drain. Its methods are safe for concurrent use.
type Server struct {
	log    *zap.Logger
	router *Router
	admin  *AdminMux

	mu       sync.Mutex // guards cfg, file and reloads
	cfg      *config.Config
	file     string
	loadedAt time.Time
	reloads  []func(*config.Config) error

	pub, adm     *http.Server
	pubLn, admLn net.Listener
	wg           sync.WaitGroup
	serveErr     chan error

	certs     *certStore    // the listener's certificates; nil without tls
	certPoll  time.Duration // how often their files are checked; 0: certPollEvery
	stopWatch chan struct{} // closed by Shutdown to stop the file check
}

// NewServer prepares listeners' servers for rt; nothing listens until Start.
func NewServer(cfg *config.Config, rt *Router, log *zap.Logger) *Server {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{log: log, router: rt, cfg: cfg, loadedAt: time.Now(), serveErr: make(chan error, 2)}
	named := make([]NamedToken, 0, len(cfg.Admin.Tokens))
	for _, t := range cfg.Admin.Tokens {
		named = append(named, NamedToken{Name: t.Name, Token: t.Token})
	}
	s.admin = NewAdminMux(cfg.Admin.Token, named...)
	s.admin.Handle("/admin/api/reload", http.HandlerFunc(s.serveReload))
	s.admin.Handle("/admin/api/bans", BansHandler(rt.Admission(), log, AdminActor))
	s.admin.Handle("/admin/api/clients/", rt.ClientsHandler())
	s.admin.Handle("/admin/api/rules", rt.Rules().Handler(AdminActor))
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
	if sc.EarlyRefusal {
		s.pub.ConnState = front.ConnState
	}
	s.pub.ConnContext = withConnTokens
	s.adm = &http.Server{
		Handler:           s.admin,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("admin")),
	}
	return s
}

// SetConfigFile names the file ReloadFile reads; "" (the default) means the
// config did not come from a file and cannot be reloaded.
func (s *Server) SetConfigFile(path string) {
	s.mu.Lock()
	s.file = path
	s.mu.Unlock()
}

// ConfigFile is the file ReloadFile reads, "" when none.
func (s *Server) ConfigFile() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.file
}

// ErrNoConfigFile is returned by ReloadFile when there is no file to read.
var ErrNoConfigFile = errors.New("no config file to reload")

// ReloadFile reads, validates and applies the config file. On any error the
// old config stays and the error (a config.Errors for a bad file) is
// returned.
func (s *Server) ReloadFile() error {
	s.mu.Lock()
	path := s.file
	s.mu.Unlock()
	if path == "" {
		return ErrNoConfigFile
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		return err
	}
	return s.Reload(cfg)
}

// serveReload is POST /admin/api/reload: the same as SIGHUP, answering the
// problems of a bad file.
func (s *Server) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	err := s.ReloadFile()
	s.log.Info("admin audit", zap.String("action", "reload"), zap.String("file", s.ConfigFile()),
		zap.Bool("ok", err == nil), zap.String("by", AdminActor(r)))
	if err != nil {
		s.log.Error("reload failed; keeping the current config", zap.String("file", s.ConfigFile()), zap.Error(err))
		problems := []string{err.Error()}
		var errs config.Errors
		if errors.As(err, &errs) {
			problems = problems[:0]
			for _, e := range errs {
				problems = append(problems, e.Error())
			}
		}
		code := http.StatusUnprocessableEntity
		if errors.Is(err, ErrNoConfigFile) {
			code = http.StatusConflict
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "errors": problems})
		return
	}
	s.log.Info("config reloaded through the admin API")
	json.NewEncoder(w).Encode(map[string]any{"ok": true})
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

// ListenerWrapper wraps the public listener that Start opens (PROXY
// protocol, per-client connection caps).
type ListenerWrapper func(net.Listener) net.Listener

// Start opens the listeners and serves in owned goroutines. wrap may be nil.
func (s *Server) Start(wrap ListenerWrapper) error {
	if err := s.configureTLS(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	// A connection waits in the kernel until its first bytes come, at most
	// the head's timeout (then it is accepted as any other).
	lc := net.ListenConfig{Control: deferAccept(max(1, int(cmp.Or(s.pub.ReadHeaderTimeout, s.pub.ReadTimeout)/time.Second)))}
	ln, err := lc.Listen(context.Background(), "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	if s.certs != nil {
		ln = tls.NewListener(ln, s.certs.serverConfig()) // outside PROXY protocol and the caps (h2serve.go)
	} else if s.cfg.Server.EarlyRefusal {
		// The front is outermost: it sees each connection's peer as
		// ServeHTTP does (after PROXY protocol) and reads what net/http
		// would. Without it net/http reads the connections itself.
		ln = front.NewListener(ln, (*frontDecider)(s.router), front.Timeouts{
			Header: cmp.Or(s.pub.ReadHeaderTimeout, s.pub.ReadTimeout),
			Idle:   cmp.Or(s.pub.IdleTimeout, s.pub.ReadTimeout),
			Read:   s.pub.ReadTimeout,
			Write:  s.pub.WriteTimeout,
		})
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
	s.watchCerts()
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
	// The listeners keep what they were started with; shutdown_grace and
	// drain_delay are read at drain time and upgrades per request, and do
	// follow the file.
	next := *cfg
	next.Listen, next.Admin, next.ListenProxyProtocol = s.cfg.Listen, s.cfg.Admin, s.cfg.ListenProxyProtocol
	next.Server = s.cfg.Server
	next.Server.ShutdownGrace, next.Server.DrainDelay = cfg.Server.ShutdownGrace, cfg.Server.DrainDelay
	next.Server.Path = cfg.Server.Path // read per request from the routing table
	next.Server.Upgrades = cfg.Server.Upgrades
	if (s.cfg.TLS == nil) != (cfg.TLS == nil) {
		next.TLS = s.cfg.TLS // turning TLS on or off needs a restart
		s.log.Warn("reload turned tls on or off; that takes a restart, kept the running listener")
	}
	if keys := config.RestartOnlyChanges(s.cfg, cfg); len(keys) > 0 {
		s.log.Warn("reload changed keys that change only on restart; kept the running values",
			zap.Strings("keys", keys))
	}
	cfg = &next
	for _, f := range s.reloads {
		if err := f(cfg); err != nil {
			return err
		}
	}
	if err := s.router.Update(cfg); err != nil {
		return err
	}
	s.cfg, s.loadedAt = cfg, time.Now()
	if s.certs != nil && cfg.TLS != nil {
		s.certs.reload(cfg.TLS, "reload") // logged; a bad file keeps the certificates in force
	}
	return nil
}

// Shutdown drains: /__lbheartbeat__ and /__heartbeat__ turn 503, the
// listener keeps accepting for server.drain_delay (0 by default), then stops,
// keep-alive connections close after their current request, and in-flight
// requests get until ctx ends to finish. The admin listener stays up until
// the public one is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.router.SetDraining(true)
	s.pub.SetKeepAlivesEnabled(false)
	s.mu.Lock()
	delay := s.cfg.Server.DrainDelay.D()
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	err := s.pub.Shutdown(ctx)
	if err != nil {
		s.pub.Close()
	}
	actx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if aerr := s.adm.Shutdown(actx); aerr != nil {
		s.adm.Close()
	}
	if s.stopWatch != nil {
		close(s.stopWatch)
	}
	s.wg.Wait()
	s.router.Close()
	return err
}
