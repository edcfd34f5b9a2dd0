package router

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// Request IDs are a random per-process prefix and a counter: unique, cheap,
// and unguessable enough to correlate logs without a syscall per request.
var (
	idPrefix  = func() string { var b [8]byte; rand.Read(b[:]); return hex.EncodeToString(b[:]) }()
	idCounter atomic.Uint64
)

func newRequestID() string {
	return idPrefix + "-" + strconv.FormatUint(idCounter.Add(1), 36)
}

func itoa(n int) string { return strconv.Itoa(n) }
