package stats

import (
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// AccessMessage is the message of the router's access lines. NewLogger's
// sampling leaves them alone: the router samples them with a LineSampler
// before it builds them, which costs a request nothing when the line is
// dropped.
const AccessMessage = "access"

// NewLogger builds the process logger from LogOptions: JSON lines (or
// console text when Format is "console") at Level and above, written to out.
// With Sample.Initial > 0, each message other than AccessMessage is written
// at most Initial times per second and then every Thereafter-th time
// (Thereafter 0: never again that second); each line sampled away calls
// dropped (e.g. Stats.LogDropped), which may be nil. opts are appended to the
// logger's options.
func NewLogger(cfg LogOptions, out zapcore.WriteSyncer, dropped func(), opts ...zap.Option) (*zap.Logger, error) {
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
		core = exemptCore{
			Core: zapcore.NewSamplerWithOptions(core, time.Second, cfg.Sample.Initial, cfg.Sample.Thereafter,
				zapcore.SamplerHook(hook)),
			raw: core,
		}
	}
	return zap.New(core, append([]zap.Option{zap.ErrorOutput(out)}, opts...)...), nil
}

// exemptCore is the sampler, except that AccessMessage entries go to raw,
// the core under it.
type exemptCore struct {
	zapcore.Core // the sampler
	raw          zapcore.Core
}

func (c exemptCore) With(f []zapcore.Field) zapcore.Core {
	return exemptCore{Core: c.Core.With(f), raw: c.raw.With(f)}
}

func (c exemptCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if ent.Message == AccessMessage {
		return c.raw.Check(ent, ce)
	}
	return c.Core.Check(ent, ce)
}

// LineSampler keeps NewLogger's sampling for lines that skip it (the access
// log): per second, the first Initial lines, then every Thereafter-th
// (Thereafter 0: none). Each line held back calls dropped. A nil
// *LineSampler, or one with Initial 0, passes every line. Safe for
// concurrent use; Allow is two atomic operations.
type LineSampler struct {
	initial, thereafter int64
	dropped             func()
	sec                 atomic.Int64 // the second being counted
	n                   atomic.Int64 // lines in it so far
}

// NewLineSampler returns a sampler of cfg's policy; dropped may be nil.
func NewLineSampler(cfg SampleOptions, dropped func()) *LineSampler {
	if dropped == nil {
		dropped = func() {}
	}
	return &LineSampler{initial: int64(cfg.Initial), thereafter: int64(cfg.Thereafter), dropped: dropped}
}

// Allow reports whether a line at now is written.
func (s *LineSampler) Allow(now time.Time) bool {
	if s == nil || s.initial <= 0 {
		return true
	}
	if sec, old := now.Unix(), s.sec.Load(); sec != old && s.sec.CompareAndSwap(old, sec) {
		s.n.Store(0)
	}
	n := s.n.Add(1)
	if n <= s.initial || s.thereafter > 0 && (n-s.initial)%s.thereafter == 0 {
		return true
	}
	s.dropped()
	return false
}
