package router

import (
	"net/url"
	"strings"
	"testing"
)

func TestRewritePrefix(t *testing.T) {
	for _, tt := range []struct {
		esc, from, to, want string
		ok                  bool
	}{
		{"/api", "/api", "", "/", true},
		{"/api/", "/api", "", "/", true},
		{"/api/x", "/api", "", "/x", true},
		{"/api/x/", "/api", "", "/x/", true},
		{"/apix", "/api", "", "", false},
		{"/ap", "/api", "", "", false},
		{"/other/api", "/api", "", "", false},
		{"/api/x", "/api/", "/v2", "/v2/x", true},
		{"/api/", "/api/", "/v2", "/v2", true},
		{"/api", "/api", "/v2/", "/v2/", true},
		{"/api/", "/api", "/v2/", "/v2/", true},
		{"/api/x/", "/api", "/v2/", "/v2/x/", true},
		{"/api/x", "/api", "/", "/x", true},
		{"/api//x", "/api", "/v2", "/v2//x", true},
		// Escapes: matched decoded, kept as sent.
		{"/%61pi/a%20b%2Fc", "/api", "/v2", "/v2/a%20b%2Fc", true},
		{"/api%2Fx", "/api", "", "/x", true},
		{"/api/%E2%82%AC", "/api", "/v2", "/v2/%E2%82%AC", true},
		{"/api%zz", "/api", "", "", false},
		{"/%", "/api", "", "", false},
	} {
		got, ok := rewritePrefix(tt.esc, tt.from, tt.to)
		if got != tt.want || ok != tt.ok {
			t.Errorf("rewritePrefix(%q, %q, %q) = %q, %v; want %q, %v", tt.esc, tt.from, tt.to, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzRewritePrefix: any escaped path rewrites to a path that starts with
// "/" and holds only esc's escapes, or is left alone.
func FuzzRewritePrefix(f *testing.F) {
	for _, s := range []string{"/api", "/api/x", "/%61pi/%2F", "/apix", "/", "%", "/api%", "/api%2"} {
		f.Add(s, "/api", "/v2")
		f.Add(s, "/api/", "")
	}
	f.Fuzz(func(t *testing.T, esc, from, to string) {
		if !strings.HasPrefix(from, "/") || !strings.HasPrefix(to, "/") && to != "" || strings.Contains(to, "%") {
			return // config.Validate refuses such prefixes
		}
		got, ok := rewritePrefix(esc, from, to)
		if !ok {
			return
		}
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("rewritePrefix(%q, %q, %q) = %q", esc, from, to, got)
		}
		if _, err := url.PathUnescape(esc); err == nil {
			if _, err := url.PathUnescape(got); err != nil {
				t.Fatalf("rewritePrefix(%q, %q, %q) = %q, not unescapable: %v", esc, from, to, got, err)
			}
		}
	})
}
