package ratelimit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// BansHandler serves the admin bans API (mount it at /admin/api/bans):
//
//	GET                  200 {"bans": [BanInfo...]}
//	DELETE ?client=IP    200 {"lifted": IP}, 404 when IP is not banned,
//	                     400 when IP does not parse
//
// IP is an address (an IPv6 one is grouped by client_ip.ipv6_prefix, so
// any address of a banned /64 lifts it) or a CIDR of exactly the tracked
// size (/32, or /ipv6_prefix). Authentication is the admin listener's job.
func (a *Admission) BansHandler() http.Handler {
	return http.HandlerFunc(a.serveBans)
}

func (a *Admission) serveBans(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		bans := a.Bans()
		if bans == nil {
			bans = []BanInfo{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"bans": bans})
	case http.MethodDelete:
		client, err := parseClient(r.URL.Query().Get("client"), a.state.Load().abuse.v6bits)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if !a.Lift(client) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "not banned", "client": client.String()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"lifted": client.String()})
	default:
		w.Header().Set("Allow", "GET, HEAD, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
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
