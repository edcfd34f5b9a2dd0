package router

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

// decisionRingSize bounds the recent decisions kept for the explain API,
// for the whole router (not per client: a flood of clients costs no more).
const decisionRingSize = 4096

// decision is one refusal or challenge, as the explain API lists it.
type decision struct {
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
}

// ringEntry is a decision as the ring keeps it: the request id in place,
// so recording one allocates nothing.
type ringEntry struct {
	at     time.Time
	key    netip.Addr // the admission key
	reason string     // a constant
	status int
	idLen  uint8
	id     [64]byte
}

// decisionRing keeps the last decisionRingSize decisions. Safe for
// concurrent use.
type decisionRing struct {
	mu   sync.Mutex
	buf  [decisionRingSize]ringEntry
	next int
	n    int
}

func (r *decisionRing) add(at time.Time, key netip.Addr, reason string, status int, id []byte, ids string) {
	r.mu.Lock()
	e := &r.buf[r.next]
	e.at, e.key, e.reason, e.status = at, key, reason, status
	n := copy(e.id[:], id)
	n += copy(e.id[n:], ids)
	e.idLen = uint8(n)
	r.next = (r.next + 1) % decisionRingSize
	r.n = min(r.n+1, decisionRingSize)
	r.mu.Unlock()
}

// of returns key's decisions, newest first, at most max.
func (r *decisionRing) of(key netip.Addr, max int) []decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []decision{}
	for i := 1; i <= r.n && len(out) < max; i++ {
		e := &r.buf[(r.next-i+decisionRingSize)%decisionRingSize]
		if e.key == key {
			out = append(out, decision{At: e.at, Reason: e.reason, Status: e.status, RequestID: string(e.id[:e.idLen])})
		}
	}
	return out
}

// noteDecision records a refusal or challenge of st's client.
func (rt *Router) noteDecision(st *requestState, reason string, status int, at time.Time) {
	if st.requestID == "" && st.rawID != nil {
		rt.decisions.add(at, st.key, reason, status, st.rawID, "")
		return
	}
	rt.decisions.add(at, st.key, reason, status, nil, st.id())
}

// reasonHeader carries a refusal's short reason code, for support: with
// the X-Request-Id it finds the decision in the explain API.
const reasonHeader = "X-Bulwark-Reason"

// ClientsHandler serves GET /admin/api/clients/{address or token id}: what
// admission knows of the client and why (ratelimit.ClientFacts) and its
// recent refusals and challenges with their request ids. An address is
// grouped as client_ip groups it; a token id is its 16 hex digits.
func (rt *Router) ClientsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "GET only"})
			return
		}
		arg := strings.TrimPrefix(r.URL.Path, "/admin/api/clients/")
		key, ok := clientArg(rt, arg)
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want an IP address or a 16-hex-digit token id"})
			return
		}
		now := rt.now()
		writeJSON(w, http.StatusOK, struct {
			ratelimit.ClientFacts
			Decisions []decision `json:"recent_decisions"`
		}{rt.adm.Explain(now, key), rt.decisions.of(key, 50)})
	})
}

// clientArg reads an address (grouped like the router's keys) or a token id.
func clientArg(rt *Router, s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if _, tok := ratelimit.TokenID(a); tok {
			return a, true
		}
		return rt.table.Load().clientIP.Key(a.Unmap()), true
	}
	if len(s) == 16 {
		if id, err := strconv.ParseUint(s, 16, 64); err == nil {
			return ratelimit.TokenKey(id), true
		}
	}
	return netip.Addr{}, false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// reasonValues are the reason header's values, made once: a refusal
// allocates nothing for it.
var reasonValues = func() (v [32][]string) {
	for i := range v {
		v[i] = []string{stats.Reason(i).String()}
	}
	return v
}()

var challengeValue = []string{"challenge"}

// markRefusal sets the reason header and records the decision.
func (rt *Router) markRefusal(st *requestState, reason stats.Reason, status int) {
	if int(reason) < len(reasonValues) {
		st.w.Header()[reasonHeader] = reasonValues[reason]
	}
	rt.noteDecision(st, reason.String(), status, rt.now())
}
