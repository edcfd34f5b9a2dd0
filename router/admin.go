package router

import (
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"
)

// AdminMux serves the admin listener. With a token, every request must carry
// it as "Authorization: Bearer TOKEN".
type AdminMux struct {
	mux   *http.ServeMux
	token []byte
}

// NewAdminMux returns a mux with /debug/pprof/ registered.
func NewAdminMux(token string) *AdminMux {
	m := &AdminMux{mux: http.NewServeMux()}
	if token != "" {
		m.token = []byte(token)
	}
	m.mux.HandleFunc("/debug/pprof/", pprof.Index)
	m.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// Handle registers h for pattern (http.ServeMux syntax).
func (m *AdminMux) Handle(pattern string, h http.Handler) { m.mux.Handle(pattern, h) }

func (m *AdminMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.token != nil {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), m.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	m.mux.ServeHTTP(w, r)
}
