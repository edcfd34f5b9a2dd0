package config

import (
	"slices"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	const base = "backends:\n  app: {targets: ['http://127.0.0.1:9000']}\nroutes: [{backend: app}]\n"
	c, err := Load([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Log.RedactQuery, DefaultRedactQuery()) {
		t.Errorf("default: %v", c.Log.RedactQuery)
	}
	for _, tt := range []struct {
		give string
		want []string
	}{
		{"log: {redact_query: []}\n", []string{}},
		{"log: {redact_query: [session]}\n", []string{"session"}},
	} {
		c, err := Load([]byte(base + tt.give))
		if err != nil {
			t.Fatalf("%q: %v", tt.give, err)
		}
		if !slices.Equal(c.Log.RedactQuery, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.give, c.Log.RedactQuery, tt.want)
		}
	}
	_, err = Load([]byte(base + "log:\n  redact_query: [token, 'a=b']\n"))
	want := `log.redact_query[1]: invalid parameter name "a=b" (want a query parameter's name, e.g. token) (line 5)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
