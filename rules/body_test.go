package rules

import (
	"maps"
	"testing"
)

func TestJSONFields(t *testing.T) {
	tests := []struct {
		give string
		want map[string]string
	}{
		{``, map[string]string{}},
		{`[1]`, map[string]string{}},
		{`{"a":"x","b":1.5,"c":true,"d":null,"e":{"f":1},"g":[1]}`, map[string]string{"a": "x", "b": "1.5", "c": "true", "d": ""}},
		{`{"a":"\u00e9\/","a":"second"}`, map[string]string{"a": "é/"}},
		{`{"a":"x","b":`, map[string]string{"a": "x"}},
	}
	for _, tt := range tests {
		if got := JSONFields([]byte(tt.give)); !maps.Equal(got, tt.want) {
			t.Errorf("JSONFields(%s) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func FuzzJSONFields(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":{"b":[1,2]},"c":1e9}`, `{"a"`, `[]`, `{"\ud800":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m := JSONFields(b); len(m) > maxMapEntries {
			t.Fatalf("%d fields", len(m))
		}
	})
}

// FuzzKeyExpr: any text either fails to compile as a key or gives a key
// whose evaluation does not panic.
func FuzzKeyExpr(f *testing.F) {
	for _, s := range []string{`request.json["user"]`, `client.ip + request.path`, `1 + 1`, `request.form[?"a"].orValue("")`} {
		f.Add(s, []byte(`{"user":"a"}`))
	}
	f.Fuzz(func(t *testing.T, expr string, body []byte) {
		k, err := CompileKey(expr)
		if err != nil {
			return
		}
		k.Value(&Request{Method: "POST", Path: "/", Body: body})
	})
}
