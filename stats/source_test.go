package stats

import (
	"strings"
	"testing"
)

// TestStatsdSource: a source's lines go out with each flush, under the
// configured prefix.
func TestStatsdSource(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig(l.addr(), "fleet.r1"))
	s.AddStatsdSource(func(b []byte, prefix string) []byte {
		return append(b, prefix+".limit_store.up:1|g\n"...)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range l.packets() {
		for line := range strings.SplitSeq(p, "\n") {
			if line == "fleet.r1.limit_store.up:1|g" {
				return
			}
		}
	}
	t.Fatalf("no source line in %q", l.packets())
}
