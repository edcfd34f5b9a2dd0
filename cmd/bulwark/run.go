package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router"
)

// Set by -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// errReported means the problem was already written to stderr.
var errReported = errors.New("reported")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("BULWARK_CONFIG"), "config file (or $BULWARK_CONFIG)")
	check := fs.Bool("check", false, "validate the config, print \"config ok\" or each problem, and exit")
	demo := fs.Bool("demo", false, "run with the embedded default config and in-process demo backends")
	showVersion := fs.Bool("version", false, "print version, commit and Go version")
	health := fs.Bool("healthcheck", false, "exit 0 when the URL argument (default: the config's own /__lbheartbeat__) answers 200")
	if err := fs.Parse(args); err != nil {
		return errReported
	}
	if *health {
		return healthcheck(fs.Arg(0), *cfgPath, stdout, stderr)
	}
	info := router.BuildInfo{Version: version, Commit: commit, Go: runtime.Version()}
	if *showVersion {
		fmt.Fprintf(stdout, "bulwark %s (commit %s, %s)\n", info.Version, info.Commit, info.Go)
		return nil
	}
	if *demo {
		return runDemo(ctx, stdout, stderr, info)
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "bulwark: -config FILE (or $BULWARK_CONFIG) is required; try -demo")
		return errReported
	}
	cfg, err := config.LoadFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "%s:\n%v\n", *cfgPath, err)
		return errReported
	}
	if *check {
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(stderr, "warning: %v\n", w)
		}
		fmt.Fprintln(stdout, "config ok")
		return nil
	}
	return serve(ctx, cfg, *cfgPath, info, stderr, nil)
}

// serve runs the router until a signal or ctx ends it. reloadFile is re-read
// on SIGHUP; onStart, when set, is told the listeners' addresses.
func serve(ctx context.Context, cfg *config.Config, reloadFile string, info router.BuildInfo, stderr io.Writer, onStart func(*router.Server)) error {
	app, err := newApp(cfg, info, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark:", err)
		return errReported
	}
	defer app.close()
	log := app.log

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if err := app.start(); err != nil {
		log.Error("start failed", zap.Error(err))
		return errReported
	}
	log.Info("serving", zap.Stringer("listen", app.srv.Addr()),
		zap.Any("admin", app.srv.AdminAddr()), zap.String("version", info.Version))
	logWarnings(log, cfg)
	app.srv.SetConfigFile(reloadFile)
	if onStart != nil {
		onStart(app.srv)
	}
	for {
		select {
		case <-ctx.Done():
			cur, _ := app.srv.Config()
			return app.drain(cur.Server.ShutdownGrace.D() + cur.Server.DrainDelay.D())
		case err := <-app.srv.Errors():
			log.Error("listener failed", zap.Error(err))
			app.drain(time.Second)
			return errReported
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				app.reload()
			default:
				log.Info("draining", zap.Stringer("signal", sig))
				cur, _ := app.srv.Config()
				return app.drain(cur.Server.ShutdownGrace.D() + cur.Server.DrainDelay.D())
			}
		}
	}
}
