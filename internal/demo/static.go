package demo

import (
	_ "embed"
	"net/http"
)

//go:embed static/index.html
var indexHTML []byte

// static imitates Persona's static server: one page at /, 404 elsewhere.
type static struct{ mux *http.ServeMux }

func newStatic() *static {
	s := &static{mux: http.NewServeMux()}
	s.mux.HandleFunc("/__heartbeat__", okHeartbeat)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	s.mux.HandleFunc("/", http.NotFound)
	return s
}

func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }
