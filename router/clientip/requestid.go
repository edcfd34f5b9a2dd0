package clientip

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
)

// RequestIDHeader carries the request id to the backend and back.
const RequestIDHeader = "X-Request-Id"

// MaxRequestIDLen is the longest incoming request id kept.
const MaxRequestIDLen = 128

// RequestID returns the id to send with r as X-Request-Id. A well-formed
// incoming id (1 to 128 characters of [A-Za-z0-9._:-]) is kept only when
// trusted is true, that is, when the socket peer is a trusted proxy that
// set it; anything else gets a new id. It is safe for concurrent use.
func RequestID(r *http.Request, trusted bool) string {
	if trusted {
		if v := r.Header[RequestIDHeader]; len(v) > 0 && ValidRequestID(v[0]) {
			return v[0]
		}
	}
	return NewRequestID()
}

// NewRequestID returns 16 random bytes as 32 lower-case hex characters. The
// bytes come from math/rand/v2's runtime source (ChaCha8, per thread,
// seeded from the operating system), which takes no lock: ids are unique
// with overwhelming probability across processes, but they are not secrets.
func NewRequestID() string {
	var out [RequestIDLen]byte
	return string(AppendRequestID(out[:0]))
}

// RequestIDLen is the length of the ids NewRequestID makes.
const RequestIDLen = 32

// AppendRequestID appends a new id, as NewRequestID makes, to b: with room
// in b it allocates nothing.
func AppendRequestID(b []byte) []byte {
	var raw [16]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		raw[i] = byte(x >> (8 * i))
		raw[8+i] = byte(y >> (8 * i))
	}
	return hex.AppendEncode(b, raw[:])
}

// ValidRequestID reports whether s may be passed on as a request id: 1 to
// MaxRequestIDLen characters of [A-Za-z0-9._:-].
func ValidRequestID(s string) bool {
	if s == "" || len(s) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
