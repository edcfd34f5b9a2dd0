package admin

import (
	_ "embed"
	"net/http"
)

//go:embed page.html
var page []byte

// PageHandler serves the status page at /admin/ (register it as "/admin/"
// or "/admin/{$}"). The page is one self-contained HTML file, no external
// assets; it polls /admin/api/status every 2 s. With an admin token, open
// it as /admin/#token=TOKEN so its API calls carry the token (the page
// itself must then be fetched with the Authorization header too).
func PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'")
		w.Write(page)
	})
}
