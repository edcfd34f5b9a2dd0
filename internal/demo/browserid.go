package demo

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// maxBody bounds the request bodies the demo apps read, as Persona's
// 10KiB limit did.
const maxBody = 10 << 10

// WrongPassword is the password authenticate_user refuses with 401; every
// other password is accepted.
const WrongPassword = "wrong"

// api describes one /wsapi/ operation of the imitation.
type api struct {
	method string
	db     bool           // needs the database: 503 while it is down
	reply  map[string]any // the 200 answer; nil means {"success": true}
}

// DBWriterOps are Persona's /wsapi/ operations that write to the database,
// which Persona's router sent to the dbwriter.
var DBWriterOps = []string{
	"stage_user", "complete_user_creation", "update_password", "remove_email",
	"account_cancel", "stage_email", "complete_email_confirmation",
	"stage_reset", "complete_reset", "stage_reverify", "stage_transition",
	"complete_transition", "add_email_with_assertion", "used_address_as_primary",
}

var wsapis = func() map[string]api {
	m := map[string]api{
		"session_context":      {method: http.MethodGet},
		"authenticate_user":    {method: http.MethodPost, db: true},
		"address_info":         {method: http.MethodGet, db: true, reply: map[string]any{"type": "secondary", "state": "known", "disabled": false}},
		"have_email":           {method: http.MethodGet, db: true, reply: map[string]any{"email_known": true}},
		"list_emails":          {method: http.MethodGet, db: true, reply: map[string]any{"emails": []string{"demo@example.com"}}},
		"user_creation_status": {method: http.MethodGet, db: true, reply: map[string]any{"status": "complete"}},
		"email_for_token":      {method: http.MethodGet, db: true, reply: map[string]any{"email": "demo@example.com", "success": true}},
		"auth_with_assertion":  {method: http.MethodPost, db: true},
		"cert_key":             {method: http.MethodPost},
		"prolong_session":      {method: http.MethodPost},
		"logout":               {method: http.MethodPost},
	}
	for _, op := range DBWriterOps {
		m[op] = api{method: http.MethodPost, db: true}
	}
	return m
}()

// browserID imitates Persona's browserid app: the /wsapi/ operations, a
// heartbeat that checks the database, and the /__demo__/db switch.
type browserID struct {
	db  *Database
	now func() time.Time
	mux *http.ServeMux
}

func newBrowserID(db *Database, now func() time.Time) *browserID {
	a := &browserID{db: db, now: now, mux: http.NewServeMux()}
	a.mux.HandleFunc("/__heartbeat__", a.heartbeat)
	a.mux.Handle("/__demo__/db", db)
	a.mux.HandleFunc("/wsapi/{op}", a.wsapi)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "reason": "not found"})
	})
	return a
}

func (a *browserID) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// heartbeat is Persona's deep check: 200 "ok" while the database answers.
func (a *browserID) heartbeat(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !a.db.Up() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "database unreachable\n")
		return
	}
	io.WriteString(w, "ok\n")
}

func (a *browserID) wsapi(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	spec, ok := wsapis[op]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "reason": "no such api: " + op})
		return
	}
	if r.Method != spec.method && !(spec.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", spec.method)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "reason": "use " + spec.method})
		return
	}
	if spec.db && !a.db.Up() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "reason": "database unavailable"})
		return
	}
	switch op {
	case "session_context":
		a.sessionContext(w)
	case "authenticate_user":
		a.authenticate(w, r)
	default:
		reply := spec.reply
		if reply == nil {
			reply = map[string]any{"success": true}
		}
		writeJSON(w, http.StatusOK, reply)
	}
}

func (a *browserID) sessionContext(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"csrf_token":               randomHex(16),
		"server_time":              a.now().UnixMilli(),
		"authenticated":            false,
		"domain_key_creation_time": int64(1325376000000),
		"code_version":             "demo",
		"data_sample_rate":         0,
		"random_seed":              randomHex(16),
	})
}

// authenticate checks {email, pass}: 401 for WrongPassword, 400 when either
// is missing, else 200.
func (a *browserID) authenticate(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "reason": err.Error()})
		return
	}
	email, pass := form.Get("email"), form.Get("pass")
	switch {
	case email == "" || pass == "":
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "reason": "need email and pass"})
	case pass == WrongPassword:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "reason": "wrong password"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "userid": 1, "suppress_ask_if_users_computer": false})
	}
}

// readForm reads a JSON object of strings or a urlencoded form, at most
// maxBody bytes.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		r.Body = body
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	var m map[string]any
	if err := json.NewDecoder(body).Decode(&m); err != nil {
		return nil, errBadBody
	}
	v := url.Values{}
	for k, x := range m {
		if s, ok := x.(string); ok {
			v.Set(k, s)
		}
	}
	return v, nil
}

var errBadBody = errors.New("want a JSON object or a urlencoded form")

// randomHex returns n random bytes as hex; the demo's tokens are not
// secrets.
func randomHex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b)
}
