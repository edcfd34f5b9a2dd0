package demo

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
)

// Database is the pretend database behind browserid and dbwriter: a single
// up/down switch. The zero value is down; NewDatabase returns one that is
// up. It is safe for concurrent use.
type Database struct {
	up atomic.Bool
}

// NewDatabase returns a Database that is up.
func NewDatabase() *Database {
	d := &Database{}
	d.up.Store(true)
	return d
}

// Up reports whether the database answers.
func (d *Database) Up() bool { return d.up.Load() }

// Set takes the database up or down.
func (d *Database) Set(up bool) { d.up.Store(up) }

// ServeHTTP is the /__demo__/db switch: GET shows the state, POST ?ok=BOOL
// sets it. Both answer {"db_ok": BOOL}.
func (d *Database) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		ok, err := strconv.ParseBool(r.URL.Query().Get("ok"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "reason": "want ?ok=true or ?ok=false"})
			return
		}
		d.Set(ok)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "reason": "method not allowed"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"db_ok": d.Up()})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
