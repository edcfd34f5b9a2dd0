package demo

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// DemoEmail is the address the demo verifier vouches for when an assertion
// does not look like an email address itself.
const DemoEmail = "demo@example.com"

// verifier imitates Persona's remote verification service: POST /verify
// with an assertion and an audience answers {"status": "okay", "email": ...}.
// It checks nothing: an assertion containing "@" is taken as the email.
type verifier struct {
	now func() time.Time
	mux *http.ServeMux
}

func newVerifier(now func() time.Time) *verifier {
	v := &verifier{now: now, mux: http.NewServeMux()}
	v.mux.HandleFunc("/__heartbeat__", okHeartbeat)
	v.mux.HandleFunc("/verify", v.verify)
	v.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "failure", "reason": "not found"})
	})
	return v
}

func (v *verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.mux.ServeHTTP(w, r) }

func (v *verifier) verify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"status": "failure", "reason": "use POST"})
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "failure", "reason": err.Error()})
		return
	}
	assertion, audience := form.Get("assertion"), form.Get("audience")
	if assertion == "" || audience == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "failure", "reason": "need assertion and audience"})
		return
	}
	email := DemoEmail
	if strings.Contains(assertion, "@") && len(assertion) <= 254 {
		email = assertion
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":   "okay",
		"email":    email,
		"audience": audience,
		"expires":  v.now().Add(2 * time.Minute).UnixMilli(),
		"issuer":   "login.persona.org",
	})
}

// okHeartbeat is the heartbeat of the demo apps that have no database.
func okHeartbeat(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}
