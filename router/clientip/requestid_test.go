package clientip

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestRequestID(t *testing.T) {
	long := strings.Repeat("a", MaxRequestIDLen)
	tests := []struct {
		name    string
		give    []string
		trusted bool
		keep    bool
	}{
		{"trusted, well-formed", []string{"4f1c2a9e-lb.7:x_Y"}, true, true},
		{"trusted, longest", []string{long}, true, true},
		{"trusted, too long", []string{long + "a"}, true, false},
		{"trusted, bad character", []string{"abc def"}, true, false},
		{"trusted, newline", []string{"abc\ndef"}, true, false},
		{"trusted, slash", []string{"a/b"}, true, false},
		{"trusted, empty", []string{""}, true, false},
		{"trusted, absent", nil, true, false},
		{"trusted, first of several", []string{"first", "second"}, true, true},
		{"untrusted, well-formed", []string{"4f1c2a9e"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.give {
				r.Header.Add("x-request-id", v)
			}
			got := RequestID(r, tt.trusted)
			if tt.keep {
				if got != tt.give[0] {
					t.Errorf("RequestID = %q, want the incoming %q", got, tt.give[0])
				}
				return
			}
			if len(tt.give) > 0 && got == tt.give[0] {
				t.Errorf("RequestID kept %q", got)
			}
			if len(got) != 32 || strings.Trim(got, "0123456789abcdef") != "" {
				t.Errorf("generated id %q is not 32 hex characters", got)
			}
		})
	}
}

func TestNewRequestIDUnique(t *testing.T) {
	const goroutines, each = 4, 2000
	ids := make(chan string, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				ids <- NewRequestID()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[string]bool, goroutines*each)
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		if !ValidRequestID(id) {
			t.Fatalf("generated id %q is not valid", id)
		}
		seen[id] = true
	}
}
