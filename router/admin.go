package router

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"
)

// AdminMux serves the admin listener. With tokens, every request must carry
// one of them as "Authorization: Bearer TOKEN".
type AdminMux struct {
	mux    *http.ServeMux
	tokens []adminToken
}

// adminToken is one accepted bearer token and the name changes made with it
// are logged under.
type adminToken struct {
	name   string
	secret []byte
}

// NamedToken is an admin bearer token with a name for the audit log.
type NamedToken struct{ Name, Token string }

// NewAdminMux returns a mux with /debug/pprof/ registered. token (logged as
// "token") and named (logged by name) are the accepted bearer tokens; with
// none, every request is served (the listener is loopback only).
func NewAdminMux(token string, named ...NamedToken) *AdminMux {
	m := &AdminMux{mux: http.NewServeMux()}
	if token != "" {
		m.tokens = append(m.tokens, adminToken{name: "token", secret: []byte(token)})
	}
	for _, nt := range named {
		if nt.Token != "" {
			m.tokens = append(m.tokens, adminToken{name: nt.Name, secret: []byte(nt.Token)})
		}
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
	actor := "loopback"
	if m.tokens != nil {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		name := ""
		if ok {
			name = m.match([]byte(got))
		}
		if name == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		actor = name
	}
	m.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
}

// match returns the name of the token got is, "" when none. Every token is
// compared, in constant time, whatever matches.
func (m *AdminMux) match(got []byte) string {
	name := ""
	for _, t := range m.tokens {
		if subtle.ConstantTimeCompare(got, t.secret) == 1 && name == "" {
			name = t.name
		}
	}
	return name
}

type actorKey struct{}

// AdminActor names who made an admin request, for the audit log: the
// matching named token's name, "token" for admin.token, "loopback" when the
// admin listener takes no token; "" outside the admin mux.
func AdminActor(r *http.Request) string {
	s, _ := r.Context().Value(actorKey{}).(string)
	return s
}
