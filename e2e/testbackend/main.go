// Command testbackend is a small backend process for bulwark's process-level
// tests, one a test can kill and start again. It answers every path with 200
// and its name (body and X-Backend header). Its /__heartbeat__ stands for the
// application's own health check: 200 while the file given by -fail-file does
// not exist, 503 (its "database" failing) while it does. POST /login is a
// login API: a JSON body {"user": U, "pass": P} answers 200 when P is
// "good-" followed by U, else 401.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "testbackend:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testbackend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	name := fs.String("name", "backend", "name written in every answer")
	failFile := fs.String("fail-file", "", "while this file exists, /__heartbeat__ answers 503")
	slots := fs.Int("slots", 0, "with -work: requests worked on at once (an app of limited capacity); 0: no limit")
	work := fs.Duration("work", 0, "time each request (not /__heartbeat__) holds one of -slots")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	srv := &http.Server{Handler: limited(handler(*name, *failFile), *slots, *work), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

func handler(name, failFile string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" && r.Method == http.MethodPost {
			login(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Backend", name)
		if r.URL.Path != "/__heartbeat__" {
			io.WriteString(w, name)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if failFile != "" {
			if _, err := os.Stat(failFile); err == nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, `{"name":%q,"status":"error","database":"error"}`+"\n", name)
				return
			}
		}
		fmt.Fprintf(w, `{"name":%q,"status":"ok","database":"ok"}`+"\n", name)
	})
}

// limited makes h an app of limited capacity: each request other than
// /__heartbeat__ holds one of slots for work (slots/work requests a second
// at most). With slots 0, h as it is.
func limited(h http.Handler, slots int, work time.Duration) http.Handler {
	if slots <= 0 {
		return h
	}
	sem := make(chan struct{}, slots)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/__heartbeat__" {
			sem <- struct{}{}
			time.Sleep(work) // the work itself
			<-sem
		}
		h.ServeHTTP(w, r)
	})
}

// login answers the demo login API.
func login(w http.ResponseWriter, r *http.Request) {
	var c struct{ User, Pass string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&c); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if c.User == "" || c.Pass != "good-"+c.User {
		http.Error(w, "wrong user or password", http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "welcome "+c.User)
}
