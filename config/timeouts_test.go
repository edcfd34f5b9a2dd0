package config

import (
	"strings"
	"testing"
	"time"
)

func TestRouteTimeouts(t *testing.T) {
	c, err := Load([]byte(minimal + "  - backend: app\n    timeouts: {response: 250ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Routes[0].Timeouts.Response.D(); got != 0 {
		t.Errorf("default = %v, want 0 (the backend's)", got)
	}
	if got := c.Routes[1].Timeouts.Response.D(); got != 250*time.Millisecond {
		t.Errorf("response = %v", got)
	}
	_, err = Load([]byte(minimal + "  - backend: app\n    timeouts: {response: -1s, read: 1s}\n"))
	for _, w := range []string{
		`routes[1].timeouts.response: negative duration "-1s" (line 7)`,
		`routes[1].timeouts.read: unknown key (known: response) (line 7)`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}
