// Package demo runs the in-process backends behind `bulwark -demo`: a
// small imitation of Mozilla Persona's services (browserid, dbwriter,
// verifier, static) on loopback ports, and the config that routes to them
// as Persona's router did.
//
// The backends are real HTTP servers on 127.0.0.1, so the router forwards,
// balances, health-checks and limits them exactly as it would real ones.
// browserid and dbwriter share a pretend database that an operator can take
// down (POST /__demo__/db?ok=false) to watch /__heartbeat__ turn red.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Names of the demo backends, in start order; they are also the backend
// names in Config.
var Names = []string{"browserid", "dbwriter", "verifier", "static"}

// BackendHeader names the response header in which every demo backend
// gives its name, so an operator can see where the router sent a request.
const BackendHeader = "X-Demo-Backend"

// Backends is a running set of demo backends. Its methods are safe for
// concurrent use.
type Backends struct {
	servers []*server
	db      *Database

	quit      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	err       error // set by shutdown, read after wg.Wait
}

type server struct {
	name string
	url  string
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// Start starts the demo backends on 127.0.0.1 ports chosen by the system.
// They run until Close is called or ctx is done; either way Close waits for
// them to stop. log may be nil.
func Start(ctx context.Context, log *zap.Logger) (*Backends, error) {
	if log == nil {
		log = zap.NewNop()
	}
	b := &Backends{db: NewDatabase(), quit: make(chan struct{})}
	id := newBrowserID(b.db, time.Now)
	handlers := map[string]http.Handler{
		"browserid": id,
		"dbwriter":  id, // the same app with write access, as in Persona
		"verifier":  newVerifier(time.Now),
		"static":    newStatic(),
	}
	for _, name := range Names {
		s, err := startServer(ctx, name, handlers[name], log)
		if err != nil {
			b.shutdown()
			return nil, err
		}
		b.servers = append(b.servers, s)
		log.Info("demo backend started", zap.String("backend", name), zap.String("url", s.url))
	}
	b.wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-b.quit:
		}
		b.err = b.shutdown()
	})
	return b, nil
}

func startServer(ctx context.Context, name string, h http.Handler, log *zap.Logger) (*server, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	s := &server{
		name: name,
		url:  "http://" + l.Addr().String(),
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:           tagged(name, h),
			ReadHeaderTimeout: 5 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          zap.NewStdLog(log.Named("demo." + name)),
		},
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(l) // returns ErrServerClosed after Close
	}()
	return s, nil
}

// tagged sets BackendHeader on every response of h.
func tagged(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(BackendHeader, name)
		h.ServeHTTP(w, r)
	})
}

// shutdown closes every server and waits for its Serve to return.
func (b *Backends) shutdown() error {
	var errs []error
	for _, s := range b.servers {
		if err := s.srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("demo %s: %w", s.name, err))
		}
	}
	for _, s := range b.servers {
		<-s.done
	}
	return errors.Join(errs...)
}

// Close stops every backend and waits for them. It may be called more than
// once and after ctx is done; every call returns the same result.
func (b *Backends) Close() error {
	b.closeOnce.Do(func() { close(b.quit) })
	b.wg.Wait()
	return b.err
}

// Targets returns each backend's name and base URL ("http://127.0.0.1:PORT").
func (b *Backends) Targets() map[string]string {
	t := make(map[string]string, len(b.servers))
	for _, s := range b.servers {
		t[s.name] = s.url
	}
	return t
}

// Database returns the pretend database browserid and dbwriter share.
func (b *Backends) Database() *Database { return b.db }
