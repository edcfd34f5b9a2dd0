package main

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
	"github.com/bulwark-router/bulwark/router"
	"github.com/bulwark-router/bulwark/router/admin"
	"github.com/bulwark-router/bulwark/router/clientip"
	"github.com/bulwark-router/bulwark/stats"
)

// app is the wiring of one running bulwark: logger, stats, router, server
// and the collaborators that follow its config.
type app struct {
	log   *zap.Logger
	stats *stats.Stats
	rt    *router.Router
	srv   *router.Server
	smp   *admin.Sampler
}

func newApp(cfg *config.Config, info router.BuildInfo, stderr io.Writer) (*app, error) {
	// The logger reports sampled-away lines to stats, which logs through
	// the logger: tie the knot through a pointer set once both exist.
	var st atomic.Pointer[stats.Stats]
	dropped := func() {
		if s := st.Load(); s != nil {
			s.LogDropped()
		}
	}
	log, err := stats.NewLogger(logOptions(cfg.Log), zapcore.AddSync(stderr), dropped)
	if err != nil {
		return nil, err
	}
	redisstore.LogTo(log.Named("redis"))
	reg := prometheus.NewRegistry()
	s, err := stats.New(statsOptions(cfg.Stats), reg, stats.BuildInfo{Version: info.Version, Commit: info.Commit}, log.Named("stats"))
	if err != nil {
		return nil, err
	}
	st.Store(s)
	rec := admin.NewRecorder(s, nil) // counts refusals and breaker changes for the status page
	rt, err := router.New(cfg, router.Options{Logger: log, Recorder: rec, Info: info,
		AccessSampler: stats.NewLineSampler(sampleOptions(cfg.Log.Sample), dropped)})
	if err != nil {
		s.Close()
		return nil, err
	}
	srv := router.NewServer(cfg, rt, log)
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bulwark_early_refusals_total",
		Help: "Requests refused by the connection front from their raw head (server.early_refusal); also counted in bulwark_rejections_total.",
	}, func() float64 { return float64(rt.EarlyRefusals()) }))
	reg.MustRegister(newH2Abuse(rt))
	storeMetrics(reg, s, rt.Admission())
	srv.Admin().Handle("/metrics", s.Handler())
	srv.OnReload(func(c *config.Config) error { return s.Update(statsOptions(c.Stats)) })
	smp := admin.NewSampler(srv, rec)
	srv.Admin().Handle("/admin/api/status", smp.StatusHandler())
	srv.Admin().Handle("/admin/{$}", admin.PageHandler())
	return &app{log: log, stats: s, rt: rt, srv: srv, smp: smp}, nil
}

// start opens the listeners: the public one caps connections per client
// and, with listen_proxy_protocol, reads PROXY headers from trusted peers.
func (a *app) start() error {
	cfg, _ := a.srv.Config()
	ext, err := clientip.New(cfg.ClientIP)
	if err != nil {
		return err
	}
	// The connection cap counts socket peers, so it wraps the raw listener
	// (trusted proxies are never capped); PROXY headers are read after it.
	wrap := func(l net.Listener) net.Listener {
		l = router.ConnCapListener(l, a.rt.Admission(), ext.Trusted)
		if cfg.ListenProxyProtocol {
			l = clientip.ProxyListener(l, ext, cfg.Server.ReadHeaderTimeout.D())
		}
		return l
	}
	return a.srv.Start(wrap)
}

// reload is SIGHUP: re-read the config file; a bad one is logged and the
// old config stays.
func (a *app) reload() {
	if err := a.srv.ReloadFile(); err != nil {
		a.log.Error("reload failed; keeping the current config", zap.String("file", a.srv.ConfigFile()), zap.Error(err))
		return
	}
	a.log.Info("config reloaded", zap.String("file", a.srv.ConfigFile()))
	cfg, _ := a.srv.Config()
	logWarnings(a.log, cfg)
}

// logWarnings logs what in cfg is valid but probably not what was meant.
func logWarnings(log *zap.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings() {
		log.Warn("config warning", zap.String("field", w.Path), zap.Int("line", w.Line), zap.String("problem", w.Msg))
	}
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

func (a *app) close() {
	a.smp.Close()
	a.stats.Close()
	_ = a.log.Sync()
}
