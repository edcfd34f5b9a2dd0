package stats

import "sync"

// sources are statsd line writers of parts that keep their own counts
// (the limit store): each flush appends their lines before the counters.
type sources struct {
	mu sync.Mutex
	fs []func(b []byte, prefix string) []byte
}

// AddStatsdSource makes every statsd flush call f with the flush's buffer
// and prefix (no trailing dot); f appends whole lines
// ("PREFIX.NAME:N|c\n") and must not block. Safe for concurrent use.
func (s *Stats) AddStatsdSource(f func(b []byte, prefix string) []byte) {
	s.src.mu.Lock()
	s.src.fs = append(s.src.fs, f)
	s.src.mu.Unlock()
}

func (s *sources) appendLines(b []byte, prefix string) []byte {
	s.mu.Lock()
	fs := s.fs
	s.mu.Unlock()
	for _, f := range fs {
		b = f(b, prefix)
	}
	return b
}
