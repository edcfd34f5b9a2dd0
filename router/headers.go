package router

import (
	"time"

	"net/http"

	"github.com/bulwark-router/bulwark/config"
)

// headerEdits is a route's headers.request or headers.response, compiled:
// names canonical, values without placeholders made once.
type headerEdits struct {
	remove []string
	set    []fieldValue
	add    []fieldValue
}

// fieldValue is one field's value template. {route} is resolved when the
// route is compiled; {client_ip} and {request_id} per request.
type fieldValue struct {
	name   string
	static []string // the value when it has no placeholder; shared, cap 1
	parts  []config.ValuePart
}

// compileEdits compiles a validated HeaderEdits; nil when it edits nothing.
func compileEdits(e config.HeaderEdits, route string) *headerEdits {
	if len(e.Remove)+len(e.Set)+len(e.Add) == 0 {
		return nil
	}
	he := &headerEdits{}
	for _, n := range e.Remove {
		he.remove = append(he.remove, http.CanonicalHeaderKey(n))
	}
	he.set = compileValues(e.Set, route)
	he.add = compileValues(e.Add, route)
	return he
}

func compileValues(m map[string]string, route string) []fieldValue {
	var out []fieldValue
	for n, v := range m {
		parts, err := config.ParseHeaderValue(v)
		if err != nil {
			continue // config.Validate refused it
		}
		fv := fieldValue{name: http.CanonicalHeaderKey(n)}
		var lit []byte
		dynamic := false
		for _, p := range parts {
			switch p.Kind {
			case config.PlainText:
				lit = append(lit, p.Text...)
			case config.PlaceRoute:
				lit = append(lit, route...)
			default:
				if len(lit) > 0 {
					fv.parts = append(fv.parts, config.ValuePart{Text: string(lit)})
					lit = lit[:0]
				}
				fv.parts = append(fv.parts, p)
				dynamic = true
			}
		}
		if dynamic {
			if len(lit) > 0 {
				fv.parts = append(fv.parts, config.ValuePart{Text: string(lit)})
			}
		} else {
			fv.static = []string{string(lit)}
		}
		out = append(out, fv)
	}
	return out
}

// value is the field's value for st's request.
func (fv *fieldValue) value(st *requestState) []string {
	if fv.static != nil {
		return fv.static
	}
	var b []byte
	for _, p := range fv.parts {
		switch p.Kind {
		case config.PlainText:
			b = append(b, p.Text...)
		case config.PlaceClientIP:
			if st.client.IsValid() {
				b = st.client.AppendTo(b)
			}
		case config.PlaceRequestID:
			b = append(b, st.id()...)
		}
	}
	return []string{string(b)}
}

// apply edits h: Remove, then Set, then Add.
func (he *headerEdits) apply(h http.Header, st *requestState) {
	for _, n := range he.remove {
		delete(h, n)
	}
	for i := range he.set {
		fv := &he.set[i]
		h[fv.name] = fv.value(st)
	}
	for i := range he.add {
		fv := &he.add[i]
		if old := h[fv.name]; len(old) > 0 {
			h[fv.name] = append(old, fv.value(st)...)
		} else {
			h[fv.name] = fv.value(st)
		}
	}
}

// editRequest applies the route's headers.request to the header the
// backend gets, after the router's own fields are set, and its
// strip_prefix and rewrite_prefix to the path (out's own copy of the URL).
func editRequest(out *http.Request, st *requestState) {
	r := st.route
	if r == nil {
		return
	}
	if r.reqEdits != nil {
		r.reqEdits.apply(out.Header, st)
	}
	if r.rewrite != nil {
		r.rewrite.apply(out.URL)
	}
}

// editAnswer applies the route's headers.response to a backend's answer
// and then puts the request id on it.
func (st *requestState) editAnswer(h http.Header) {
	if st.route != nil && st.route.resEdits != nil {
		st.route.resEdits.apply(h, st)
	}
	st.setAnswerID(h)
	if st.std != nil {
		st.std.issue(st, h, time.Now())
	}
}
