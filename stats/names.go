package stats

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Bounds on everything a caller or a client can make the recorder name.
const (
	// MaxAPIsPerRoute is how many distinct API names a per_api route counts
	// under their own statsd name; later ones are counted as "other".
	MaxAPIsPerRoute = 256
	// maxAPILen is the longest API name counted under its own name.
	maxAPILen = 64
	// maxPairs bounds the distinct (route, backend) pairs; past it both
	// labels become "other". Config-sized tables never reach it.
	maxPairs = 1024
	// maxBackends bounds the distinct backends in per-backend series.
	maxBackends = 256
)

// Other is the label value and statsd segment for everything past a bound:
// status codes outside 100–599, invalid or excess API names, excess names.
const Other = "other"

// Status codes are labelled 100..599 by number, anything else as Other.
const (
	minCode   = 100
	maxCode   = 599
	otherCode = maxCode - minCode + 1 // index of Other
	numCodes  = otherCode + 1
)

// codeNames holds the label value of every code index.
var codeNames = func() (n [numCodes]string) {
	for i := range otherCode {
		n[i] = strconv.Itoa(minCode + i)
	}
	n[otherCode] = Other
	return n
}()

// codeIndex maps an HTTP status to its index in codeNames.
func codeIndex(code int) int {
	if code < minCode || code > maxCode {
		return otherCode
	}
	return code - minCode
}

// CodeLabel is the bounded label value of an HTTP status: "100" … "599", or
// "other".
func CodeLabel(code int) string { return codeNames[codeIndex(code)] }

// ValidAPI reports whether name may be counted under its own statsd name:
// [A-Za-z0-9_]{1,64}.
func ValidAPI(name string) bool {
	if len(name) == 0 || len(name) > maxAPILen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// statsdSegment makes name safe as one statsd path segment: every byte
// outside [A-Za-z0-9_-] becomes '_' (a dot would add a level). Config names
// are already valid, so this only copies when it must.
func statsdSegment(name string) string {
	ok := true
	for i := 0; i < len(name); i++ {
		if !segmentByte(name[i]) {
			ok = false
			break
		}
	}
	if ok {
		return name
	}
	b := []byte(name)
	for i, c := range b {
		if !segmentByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func segmentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// labelValue returns name as a Prometheus label value: names that are not
// valid UTF-8 (never the case for config names) become Other.
func labelValue(name string) string {
	if !utf8.ValidString(name) {
		return Other
	}
	return strings.Clone(name)
}

// apiSet counts the per_api names of one route for statsd: each of the
// first MaxAPIsPerRoute distinct valid names has its own counter, everything
// else shares the Other one. Lookups are lock-free and allocate nothing; the
// map is copied on every insertion, which happens at most MaxAPIsPerRoute
// times. Safe for concurrent use.
type apiSet struct {
	known atomic.Pointer[map[string]*atomic.Int64]
	other atomic.Int64
	full  atomic.Bool
	mu    sync.Mutex // serialises insertions
}

func newAPISet() *apiSet {
	s := &apiSet{}
	m := map[string]*atomic.Int64{}
	s.known.Store(&m)
	return s
}

// counter returns the name api is counted under and its counter: api itself
// when it is valid and among the first MaxAPIsPerRoute distinct names seen,
// else Other.
func (s *apiSet) counter(api string) (string, *atomic.Int64) {
	if c, ok := (*s.known.Load())[api]; ok {
		return api, c
	}
	if s.full.Load() || !ValidAPI(api) {
		return Other, &s.other
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.known.Load()
	if c, ok := old[api]; ok {
		return api, c
	}
	if len(old) >= MaxAPIsPerRoute {
		s.full.Store(true)
		return Other, &s.other
	}
	m := make(map[string]*atomic.Int64, len(old)+1)
	for k, c := range old {
		m[k] = c
	}
	api = strings.Clone(api) // the caller's string may pin a whole request path
	c := new(atomic.Int64)
	m[api] = c
	s.known.Store(&m)
	return api, c
}

// take calls f with every name counted since the last take and its count,
// setting the count to zero. A valid API named "other" and the overflow are
// passed separately, both as Other.
func (s *apiSet) take(f func(name string, n int64)) {
	for name, c := range *s.known.Load() {
		if n := swapNonZero(c); n != 0 {
			f(name, n)
		}
	}
	if n := swapNonZero(&s.other); n != 0 {
		f(Other, n)
	}
}
