package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/internal/demo"
	"github.com/bulwark-router/bulwark/router"
)

// runDemo starts the in-process demo backends and serves the embedded
// default config in front of them.
func runDemo(ctx context.Context, stdout, stderr io.Writer, info router.BuildInfo) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	backends, err := demo.Start(ctx, nil)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark: demo backends:", err)
		return errReported
	}
	defer backends.Close()
	cfg, err := config.Load(demo.Config(backends.Targets()))
	if err != nil {
		fmt.Fprintln(stderr, "bulwark: demo config:", err)
		return errReported
	}
	return serve(ctx, cfg, "", info, stderr, func(s *router.Server) {
		printDemoHelp(stdout, s)
	})
}

func printDemoHelp(w io.Writer, s *router.Server) {
	base := "http://" + strings.Replace(s.Addr().String(), "[::]", "localhost", 1)
	admin := "(off)"
	if a := s.AdminAddr(); a != nil {
		admin = "http://" + a.String()
	}
	fmt.Fprintf(w, `bulwark demo: router on %[1]s, admin on %[2]s

Try:
  curl %[1]s/wsapi/session_context           # routed to browserid, counted per API
  curl -X POST %[1]s/wsapi/stage_user         # a database write, routed to dbwriter
  curl -X POST -d '{"assertion":"x"}' %[1]s/verify
  curl %[1]s/__heartbeat__                    # router + app + the app's database
  curl -X POST '%[1]s/__demo__/db?ok=false'   # take the pretend database down...
  curl %[1]s/__heartbeat__                    # ...and watch the heartbeat turn red
  curl %[2]s/metrics                          # Prometheus
  open %[2]s/admin/                           # live status page
  for i in $(seq 100); do curl -s -o /dev/null -w '%%{http_code} ' %[1]s/; done   # meet the rate limit

Stop with Ctrl-C (drains in-flight requests).
`, base, admin)
}
