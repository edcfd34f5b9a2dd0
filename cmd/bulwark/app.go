package main

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router"
	"github.com/bulwark-router/bulwark/router/clientip"
)

// app is the wiring of one running bulwark: logger, router, server and the
// collaborators that follow its config.
type app struct {
	log *zap.Logger
	rt  *router.Router
	srv *router.Server
}

func newApp(cfg *config.Config, info router.BuildInfo, stderr io.Writer) (*app, error) {
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return nil, err
	}
	rt, err := router.New(cfg, router.Options{Logger: log, Info: info})
	if err != nil {
		return nil, err
	}
	srv := router.NewServer(cfg, rt, log)
	return &app{log: log, rt: rt, srv: srv}, nil
}

// start opens the listeners; with listen_proxy_protocol the public one
// reads PROXY headers from trusted peers.
func (a *app) start() error {
	cfg, _ := a.srv.Config()
	var wrap router.ListenerWrapper
	if cfg.ListenProxyProtocol {
		ext, err := clientip.New(cfg.ClientIP)
		if err != nil {
			return err
		}
		wrap = func(l net.Listener) net.Listener {
			return clientip.ProxyListener(l, ext, cfg.Server.ReadHeaderTimeout.D())
		}
	}
	return a.srv.Start(wrap)
}

func (a *app) reloadFile(path string) {
	cfg, err := config.LoadFile(path)
	if err != nil {
		a.log.Error("reload failed; keeping the current config", zap.String("file", path), zap.Error(err))
		return
	}
	if err := a.srv.Reload(cfg); err != nil {
		a.log.Error("reload failed; keeping the current config", zap.String("file", path), zap.Error(err))
		return
	}
	a.log.Info("config reloaded", zap.String("file", path))
}

// drain stops the server, giving in-flight requests up to grace.
func (a *app) drain(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.log.Warn("drain ended with requests still in flight", zap.Error(err))
	} else {
		a.log.Info("drained")
	}
	return nil
}

func (a *app) close() { _ = a.log.Sync() }

func newLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder = zapcore.NewJSONEncoder(ec)
	if c.Format == "console" {
		enc = zapcore.NewConsoleEncoder(ec)
	}
	if w == nil {
		w = os.Stderr
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}
