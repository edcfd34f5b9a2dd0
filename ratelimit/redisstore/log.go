package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// LogTo sends go-redis's own log lines (pool dial failures, reconnects) to
// log at warn level instead of its plain-text logger on stderr, so every
// line the process writes is JSON. go-redis's logger is process-wide: call
// this once, from main.
func LogTo(log *zap.Logger) { redis.SetLogger(zapPrintf{log}) }

type zapPrintf struct{ log *zap.Logger }

func (z zapPrintf) Printf(_ context.Context, format string, v ...any) {
	if ce := z.log.Check(zap.WarnLevel, fmt.Sprintf(format, v...)); ce != nil {
		ce.Write()
	}
}
