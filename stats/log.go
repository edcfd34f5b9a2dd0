package stats

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-router/bulwark/config"
)

// NewLogger builds the process logger from config.Log: JSON lines (or
// console text when Format is "console") at Level and above, written to out.
// With Sample.Initial > 0, each message is written at most Initial times per
// second and then every Thereafter-th time (Thereafter 0: never again that
// second); each line sampled away calls dropped (e.g. Stats.LogDropped), which
// may be nil. opts are appended to the logger's options.
func NewLogger(cfg config.Log, out zapcore.WriteSyncer, dropped func(), opts ...zap.Option) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if cfg.Level != "" {
		var err error
		if level, err = zapcore.ParseLevel(cfg.Level); err != nil {
			return nil, fmt.Errorf("stats: log level: %w", err)
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch cfg.Format {
	case "", "json":
		encoder = zapcore.NewJSONEncoder(enc)
	case "console":
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		return nil, fmt.Errorf("stats: unknown log format %q (want json or console)", cfg.Format)
	}
	core := zapcore.NewCore(encoder, out, level)
	if cfg.Sample.Initial > 0 {
		hook := func(zapcore.Entry, zapcore.SamplingDecision) {}
		if dropped != nil {
			hook = func(_ zapcore.Entry, d zapcore.SamplingDecision) {
				if d&zapcore.LogDropped != 0 {
					dropped()
				}
			}
		}
		core = zapcore.NewSamplerWithOptions(core, time.Second, cfg.Sample.Initial, cfg.Sample.Thereafter,
			zapcore.SamplerHook(hook))
	}
	return zap.New(core, append([]zap.Option{zap.ErrorOutput(out)}, opts...)...), nil
}
