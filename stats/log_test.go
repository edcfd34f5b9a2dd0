package stats

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// fixedClock is a zapcore.Clock that reads a time the test sets.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time                         { return c.now }
func (c *fixedClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func TestLoggerSampling(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	out := &zaptest.Buffer{}
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := &fixedClock{now: t0}
	cfg := LogOptions{Level: "info", Format: "json", Sample: SampleOptions{Initial: 2, Thereafter: 3}}
	log, err := NewLogger(cfg, out, s.LogDropped, zap.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at          time.Duration
		msg         string
		n           int
		wantWritten int // lines of msg written by this step
		wantDropped float64
	}{
		// First 2 per second, then every 3rd: 1, 2, 5, 8 of 10.
		{at: 0, msg: "refused", n: 10, wantWritten: 4, wantDropped: 6},
		// Another message has its own count.
		{at: 500 * time.Millisecond, msg: "other", n: 1, wantWritten: 1, wantDropped: 6},
		// Same second for "refused": the 11th is written, 12th and 13th dropped.
		{at: 900 * time.Millisecond, msg: "refused", n: 3, wantWritten: 1, wantDropped: 8},
		// A new second starts the count again.
		{at: 1000 * time.Millisecond, msg: "refused", n: 3, wantWritten: 2, wantDropped: 9},
		// Debug is below the level: neither written nor counted as dropped.
		{at: 1100 * time.Millisecond, msg: "debug", n: 0, wantWritten: 0, wantDropped: 9},
	} {
		clock.now = t0.Add(tt.at)
		before := len(out.Lines())
		for range tt.n {
			log.Info(tt.msg)
		}
		log.Debug("debug")
		lines := out.Lines()[before:]
		if len(lines) != tt.wantWritten {
			t.Errorf("at %v: %d lines of %q written, want %d", tt.at, len(lines), tt.msg, tt.wantWritten)
		}
		if got := testutil.ToFloat64(s.prom.logDropped); got != tt.wantDropped {
			t.Errorf("at %v: bulwark_log_dropped_total = %v, want %v", tt.at, got, tt.wantDropped)
		}
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(out.Lines()[0]), &line); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if line["msg"] != "refused" || line["level"] != "info" || line["ts"] != "2024-01-02T03:04:05.000Z" {
		t.Errorf("line %v", line)
	}
}

func TestLoggerFormatsAndLevels(t *testing.T) {
	for _, tt := range []struct {
		name string
		give LogOptions
		want []string // substrings of the only line written
	}{
		{"default", LogOptions{}, []string{`"level":"info"`, `"msg":"hello"`, `"k":1`}},
		{"console", LogOptions{Format: "console"}, []string{"\tINFO\t", "hello", `{"k": 1}`}},
		{"warn hides info", LogOptions{Level: "warn"}, nil},
		{"debug", LogOptions{Level: "debug"}, []string{`"level":"info"`}},
		{"no sampling", LogOptions{Sample: SampleOptions{Initial: 0, Thereafter: 5}}, []string{`"msg":"hello"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := &zaptest.Buffer{}
			log, err := NewLogger(tt.give, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello", zap.Int("k", 1))
			lines := out.Lines()
			if tt.want == nil {
				if len(lines) != 0 {
					t.Errorf("wrote %q", lines)
				}
				return
			}
			if len(lines) != 1 {
				t.Fatalf("wrote %q", lines)
			}
			for _, w := range tt.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("line %q lacks %q", lines[0], w)
				}
			}
		})
	}
	for _, bad := range []LogOptions{{Level: "loud"}, {Format: "xml"}} {
		if _, err := NewLogger(bad, &zaptest.Buffer{}, nil); err == nil {
			t.Errorf("NewLogger(%+v): no error", bad)
		}
	}
}

// Access lines skip the logger's sampling: the router samples them itself.
func TestLoggerLeavesAccessLinesToTheRouter(t *testing.T) {
	out := &zaptest.Buffer{}
	dropped := 0
	cfg := LogOptions{Level: "info", Sample: SampleOptions{Initial: 1, Thereafter: 0}}
	log, err := NewLogger(cfg, out, func() { dropped++ }, zap.WithClock(&fixedClock{now: time.Unix(1e9, 0)}))
	if err != nil {
		t.Fatal(err)
	}
	named := log.Named("router").With(zap.String("k", "v"))
	for range 5 {
		named.Info(AccessMessage)
		named.Info("forward failed")
	}
	var access, other int
	for _, l := range out.Lines() {
		switch {
		case strings.Contains(l, `"msg":"access"`):
			access++
		case strings.Contains(l, `"msg":"forward failed"`):
			other++
		}
	}
	if access != 5 || other != 1 || dropped != 4 {
		t.Errorf("access %d (want 5), other %d (want 1), dropped %d (want 4)", access, other, dropped)
	}
}

func TestLineSampler(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	dropped := 0
	s := NewLineSampler(SampleOptions{Initial: 2, Thereafter: 3}, func() { dropped++ })
	for _, tt := range []struct {
		at          time.Duration
		n           int
		want        string // one letter a line: y written, n dropped
		wantDropped int
	}{
		{at: 0, n: 10, want: "yynnynnynn", wantDropped: 6},
		{at: 999 * time.Millisecond, n: 2, want: "yn", wantDropped: 7},
		{at: time.Second, n: 4, want: "yynn", wantDropped: 9}, // a new second
		{at: 3 * time.Second, n: 3, want: "yyn", wantDropped: 10},
		{at: 2 * time.Second, n: 1, want: "y", wantDropped: 10}, // the clock stepped back: counted anew
	} {
		got := ""
		for range tt.n {
			if s.Allow(t0.Add(tt.at)) {
				got += "y"
			} else {
				got += "n"
			}
		}
		if got != tt.want || dropped != tt.wantDropped {
			t.Errorf("at %v: %s, dropped %d; want %s, %d", tt.at, got, dropped, tt.want, tt.wantDropped)
		}
	}
	for _, off := range []*LineSampler{nil, NewLineSampler(SampleOptions{}, nil)} {
		for range 1000 {
			if !off.Allow(t0) {
				t.Fatal("a sampler that is off dropped a line")
			}
		}
	}
}
