package stats

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

func TestValidAPI(t *testing.T) {
	for _, tt := range []struct {
		give string
		want bool
	}{
		{"session_context", true},
		{"A9_z", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"bad-name", false},
		{"a.b", false},
		{"a:b", false},
		{"a|b", false},
		{"a\nb", false},
		{"é", false},
	} {
		if got := ValidAPI(tt.give); got != tt.want {
			t.Errorf("ValidAPI(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestAppendMillis(t *testing.T) {
	for _, tt := range []struct {
		give time.Duration
		want string
	}{
		{0, "0"},
		{-time.Second, "0"},
		{999 * time.Nanosecond, "0"},
		{time.Microsecond, "0.001"},
		{42 * time.Microsecond, "0.042"},
		{500 * time.Microsecond, "0.5"},
		{time.Millisecond, "1"},
		{12500 * time.Microsecond, "12.5"},
		{7812500 * time.Nanosecond, "7.812"},
		{30 * time.Second, "30000"},
		{time.Hour + time.Microsecond, "3600000.001"},
	} {
		if got := string(appendMillis(nil, tt.give)); got != tt.want {
			t.Errorf("appendMillis(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestStatsdSegment(t *testing.T) {
	for _, tt := range []struct{ give, want string }{
		{"wsapi", "wsapi"},
		{"my-app_2", "my-app_2"},
		{"my.app", "my_app"},
		{"a:b|c@d\ne", "a_b_c_d_e"},
		{"é", "__"},
		{"", ""},
	} {
		if got := statsdSegment(tt.give); got != tt.want {
			t.Errorf("statsdSegment(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// apiName is the name apiSet.counter counts api under.
func apiName(s *apiSet, api string) string {
	name, _ := s.counter(api)
	return name
}

func TestAPISetKeepsFirst256(t *testing.T) {
	s := newAPISet()
	for i := range MaxAPIsPerRoute {
		if got := apiName(s, fmt.Sprint("op", i)); got != fmt.Sprint("op", i) {
			t.Fatalf("name %d: %q", i, got)
		}
	}
	for _, tt := range []struct{ give, want string }{
		{"op0", "op0"},     // known
		{"op255", "op255"}, // known, the last one admitted
		{"op256", Other},   // the 257th distinct name
		{"new", Other},
		{"bad-name", Other},
		{"", Other},
	} {
		if got := apiName(s, tt.give); got != tt.want {
			t.Errorf("name(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// Each admitted name counts on its own counter and everything else on
// Other's; take reports each count once and zeroes it.
func TestAPISetCounts(t *testing.T) {
	s := newAPISet()
	for _, api := range []string{"a", "b", "a", "bad-name", "other", "", "a"} {
		_, c := s.counter(api)
		c.Add(1)
	}
	take := func() map[string]int64 {
		got := map[string]int64{}
		s.take(func(name string, n int64) { got[name] += n })
		return got
	}
	// A valid API named "other" has its own counter but the same name.
	if got, want := take(), map[string]int64{"a": 3, "b": 1, Other: 3}; !maps.Equal(got, want) {
		t.Errorf("take() = %v, want %v", got, want)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("second take() = %v, want nothing", got)
	}
	if _, c := s.counter("b"); c.Load() != 0 {
		t.Errorf("b counts %d after take", c.Load())
	}
}

// FuzzAPIName feeds client-chosen API names through the per-route table: the
// answer is always the name itself (valid) or Other, and never more than
// MaxAPIsPerRoute distinct names come out.
func FuzzAPIName(f *testing.F) {
	for _, s := range []string{"session_context", "", "other", "a-b", "x\x00y", strings.Repeat("q", 70), "list_emails"} {
		f.Add(s)
	}
	set := newAPISet()
	seen := map[string]bool{}
	f.Fuzz(func(t *testing.T, api string) {
		got := apiName(set, api)
		if got != Other && (got != api || !ValidAPI(got)) {
			t.Fatalf("name(%q) = %q", api, got)
		}
		seen[got] = true
		if len(seen) > MaxAPIsPerRoute+1 {
			t.Fatalf("%d distinct names", len(seen))
		}
		if seg := statsdSegment(api); strings.ContainsAny(seg, ".:|@\n#") {
			t.Fatalf("statsdSegment(%q) = %q", api, seg)
		}
	})
}
