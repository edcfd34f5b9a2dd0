package rules

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/bulwark-router/bulwark/rules/celenv"
)

// Request is what rules see of a request. Its fields are read only during
// Eval; maps the expressions ask for are built then, once per request.
type Request struct {
	Method, Host, Path string // Path decoded and normalised
	Header             http.Header
	RawQuery           string
	BodySize           int64 // -1 when unknown
	Client             netip.Addr
	// NetV4, NetV6 are the prefix lengths of client.network (default 24, 48).
	NetV4, NetV6 int
	// Classify returns client.class for Client, asked only when an
	// expression reads it; nil reads "new".
	Classify func(netip.Addr) string
	// Verified: the client holds a reputation token or a solved
	// challenge, so challenge rules let it pass.
	Verified bool
	// Body is the start of the body (at most max_inspect_bytes) on a route
	// that inspects bodies, read by request.json and request.form; nil
	// elsewhere (both maps empty).
	Body []byte
	// BodyPending: the route inspects bodies but the body is not read yet,
	// so rules reading it wait for Set.EvalBody.
	BodyPending bool
}

// activation resolves an expression's names against a Request.
type activation struct {
	r                       *Request
	query, headers, cookies any // built on first use
	json, form              any
}

var activationPool = sync.Pool{New: func() any { return new(activation) }}

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	r := a.r
	switch name {
	case celenv.VarMethod:
		return r.Method, true
	case celenv.VarHost:
		return r.Host, true
	case celenv.VarPath:
		return r.Path, true
	case celenv.VarUserAgent:
		if v := r.Header["User-Agent"]; len(v) > 0 {
			return v[0], true
		}
		return "", true
	case celenv.VarBodySize:
		return r.BodySize, true
	case celenv.VarIP:
		if !r.Client.IsValid() {
			return "", true
		}
		return r.Client.String(), true
	case celenv.VarNetwork:
		return r.network(), true
	case celenv.VarClass:
		if r.Classify == nil {
			return "new", true
		}
		return r.Classify(r.Client), true
	case celenv.VarHeaders:
		if a.headers == nil {
			a.headers = strMap(lowerHeaders(r.Header))
		}
		return a.headers, true
	case celenv.VarQuery:
		if a.query == nil {
			a.query = strMap(firstValues(r.RawQuery))
		}
		return a.query, true
	case celenv.VarCookies:
		if a.cookies == nil {
			a.cookies = strMap(cookies(r.Header))
		}
		return a.cookies, true
	case celenv.VarJSON:
		if a.json == nil {
			a.json = strMap(JSONFields(r.Body))
		}
		return a.json, true
	case celenv.VarForm:
		if a.form == nil {
			a.form = strMap(firstValues(string(r.Body)))
		}
		return a.form, true
	}
	return nil, false
}

func (r *Request) network() string {
	if !r.Client.IsValid() {
		return ""
	}
	bits := r.NetV6
	if r.Client.Is4() {
		bits = r.NetV4
	}
	if bits == 0 {
		bits = 48
		if r.Client.Is4() {
			bits = 24
		}
	}
	p, err := r.Client.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

func strMap(m map[string]string) any {
	return types.NewStringStringMap(types.DefaultTypeAdapter, m)
}

// maxMapEntries bounds the maps built from one request.
const maxMapEntries = 256

func lowerHeaders(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, v := range h {
		if len(m) == maxMapEntries {
			break
		}
		m[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return m
}

func firstValues(raw string) map[string]string {
	m := map[string]string{}
	for raw != "" && len(m) < maxMapEntries {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

func cookies(h http.Header) map[string]string {
	m := map[string]string{}
	for _, line := range h["Cookie"] {
		cs, _ := http.ParseCookie(line)
		for _, c := range cs {
			if len(m) == maxMapEntries {
				return m
			}
			if _, ok := m[c.Name]; !ok {
				m[c.Name] = c.Value
			}
		}
	}
	return m
}
