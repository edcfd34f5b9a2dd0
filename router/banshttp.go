package router

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
	"go.uber.org/zap"
)

// BansHandler serves the admin bans API (mount it at /admin/api/bans):
//
//	GET                  200 {"bans": [BanInfo...]}
//	POST {client, duration, reason}
//	                     201 {"banned": BanInfo}; 400 with {"error"} when
//	                     the body, client, duration or reason is wrong;
//	                     409 for a client in abuse.allow; 503 when the
//	                     client table has no room
//	DELETE ?client=IP    200 {"lifted": IP}, 404 when IP is not banned,
//	                     400 when IP does not parse
//
// IP is an address (an IPv6 one is grouped by client_ip.ipv6_prefix, so
// any address of a banned /64 lifts it) or a CIDR of exactly the tracked
// size (/32, or /ipv6_prefix). duration is a Go duration, at most
// abuse.ban.max_duration; reason is free text of at most 200 characters.
// Each change is logged at info level as an "admin audit" line naming
// actor(r), who made the request (nil: "admin"). Authentication is the
// admin listener's job. log (nil: none) takes the audit lines.
func BansHandler(a *ratelimit.Admission, log *zap.Logger, actor func(*http.Request) string) http.Handler {
	if actor == nil {
		actor = func(*http.Request) string { return "admin" }
	}
	if log == nil {
		log = zap.NewNop()
	}
	b := &bansAPI{a: a, log: log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { b.serve(w, r, actor(r)) })
}

// bansAPI serves the bans API for one Admission.
type bansAPI struct {
	a   *ratelimit.Admission
	log *zap.Logger
}

func (b *bansAPI) serve(w http.ResponseWriter, r *http.Request, by string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		bans := b.a.Bans()
		if bans == nil {
			bans = []ratelimit.BanInfo{}
		}
		writeBansJSON(w, http.StatusOK, map[string]any{"bans": bans})
	case http.MethodPost:
		b.post(w, r, by)
	case http.MethodDelete:
		client, err := parseClient(r.URL.Query().Get("client"), b.a.IPv6Prefix())
		if err != nil {
			writeBansJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if !b.a.Lift(client) {
			writeBansJSON(w, http.StatusNotFound, map[string]string{"error": "not banned", "client": client.String()})
			return
		}
		b.audit("lift", client, 0, "", by)
		writeBansJSON(w, http.StatusOK, map[string]string{"lifted": client.String()})
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
		writeBansJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

func (b *bansAPI) post(w http.ResponseWriter, r *http.Request, by string) {
	req, err := parseBanRequest(r, b.a.IPv6Prefix(), b.a.MaxBan())
	if err != nil {
		writeBansJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	info, err := b.a.Ban(req.client, req.duration, req.reason, by)
	switch {
	case errors.Is(err, ratelimit.ErrBanAllowlisted):
		writeBansJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "client": req.client.String()})
		return
	case err != nil:
		writeBansJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	b.audit("ban", info.Client, req.duration, req.reason, by)
	writeBansJSON(w, http.StatusCreated, map[string]any{"banned": info})
}

// audit logs one change made through the admin API.
func (b *bansAPI) audit(action string, client netip.Addr, d time.Duration, reason, by string) {
	b.log.Info("admin audit", zap.String("action", action), zap.Stringer("client", client),
		zap.Float64("duration_s", d.Seconds()), zap.String("reason", reason), zap.String("by", by))
}

// maxClientParam bounds the ?client= value (the longest IPv6 text form
// with a prefix is 49 bytes).
const maxClientParam = 64

// parseClient parses the ?client= value of the bans API into a table key's
// address: unmapped, IPv6 masked to v6bits. A zone is refused, so is a CIDR
// of another size than the tracked one.
func parseClient(s string, v6bits int) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, errors.New("missing client parameter")
	}
	if len(s) > maxClientParam {
		return netip.Addr{}, errors.New("client parameter too long")
	}
	var addr netip.Addr
	bits := -1
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, errors.New("client must be an IP address or the tracked CIDR")
		}
		addr, bits = p.Addr(), p.Bits()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, errors.New("client must be an IP address or the tracked CIDR")
		}
		addr = a
	}
	if addr.Zone() != "" {
		return netip.Addr{}, errors.New("client must not have a zone")
	}
	if addr.Is4In6() && bits >= 0 {
		if bits < 96 {
			return netip.Addr{}, errors.New("client CIDR must be a single client (/32 or the IPv6 prefix)")
		}
		bits -= 96
	}
	addr = addr.Unmap()
	want := 32
	if addr.Is6() {
		want = v6bits
	}
	if bits >= 0 && bits != want {
		return netip.Addr{}, errors.New("client CIDR must be a single client (/32 or the IPv6 prefix)")
	}
	if addr.Is6() {
		p, _ := addr.Prefix(v6bits)
		addr = p.Addr()
	}
	return addr, nil
}

// writeBansJSON is writeJSON on one line: the bans API answers compact JSON.
func writeBansJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
