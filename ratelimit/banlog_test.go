package ratelimit

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-router/bulwark/internal/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// syncBuffer is a log sink safe for the admission's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// The ban line, as the binary writes it: one "level" key (zap's), the ban's
// escalation as ban_level and its length in seconds as ban_for_s.
func TestBanLogLine(t *testing.T) {
	var out syncBuffer
	enc := zap.NewProductionEncoderConfig()
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(&out), zapcore.InfoLevel))
	a, err := New(loadConfig(t, banYAML), &recorder{}, log, WithClock((testutil.NewClock(t0)).Now), WithSweepInterval(0), WithSeed(42))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h := &harness{Admission: a}
	for range 4 { // one admitted, three refused: the third bans
		h.req(0, "198.51.100.7", "default")
	}
	var ban string
	for _, l := range out.lines() {
		if strings.Contains(l, `"msg":"client banned"`) {
			ban = l
		}
	}
	if ban == "" {
		t.Fatalf("no ban line in\n%s", strings.Join(out.lines(), "\n"))
	}
	if n := strings.Count(ban, `"level":`); n != 1 {
		t.Errorf("%d level keys in %s", n, ban)
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(ban), &f); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "warn", "client": "198.51.100.7", "why": "rejections", "ban_level": 1.0, "ban_for_s": 60.0}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %v, want %v in %s", k, f[k], v, ban)
		}
	}
	if _, ok := f["for"]; ok {
		t.Errorf("unitless key for in %s", ban)
	}
}
