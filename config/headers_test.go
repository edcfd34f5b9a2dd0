package config

import (
	"strings"
	"testing"
)

func TestHeaderEditsMessages(t *testing.T) {
	const app = "backends:\n  app: {targets: ['http://127.0.0.1:9000']}\nroutes:\n  - backend: app\n    headers:\n"
	tests := []struct {
		name, give, want string
	}{
		{"unknown placeholder",
			"      request: {set: {X-Who: '{requst_id}'}}\n",
			`routes[0].headers.request.set.X-Who: unknown placeholder {requst_id} (did you mean "request_id"?) (line 6)`},
		{"unknown placeholder far from all",
			"      response: {add: {X-A: 'a {zzzzzzzzzz} b'}}\n",
			`routes[0].headers.response.add.X-A: unknown placeholder {zzzzzzzzzz} (want {client_ip}, {request_id} or {route}) (line 6)`},
		{"unclosed placeholder",
			"      request: {set: {X-A: '{route'}}\n",
			`routes[0].headers.request.set.X-A: unclosed placeholder "{route" (write {{ for a literal {) (line 6)`},
		{"CR in a value",
			"      request: {set: {X-A: \"a\\r\\nEvil: 1\"}}\n",
			`routes[0].headers.request.set.X-A: value holds the control byte 0x0d (CR, LF and NUL are never allowed) (line 6)`},
		{"NUL in a value",
			"      response: {set: {X-A: \"a\\0\"}}\n",
			`routes[0].headers.response.set.X-A: value holds the control byte 0x00 (CR, LF and NUL are never allowed) (line 6)`},
		{"name not a token",
			"      request: {set: {'X A': b}}\n",
			`routes[0].headers.request.set.X A: invalid field name "X A" (want an HTTP token) (line 6)`},
		{"hop-by-hop",
			"      request: {remove: [connection]}\n",
			`routes[0].headers.request.remove[0]: Connection may not be edited: a hop-by-hop field, for one connection only (line 6)`},
		{"host",
			"      request: {set: {Host: example.com}}\n",
			`routes[0].headers.request.set.Host: Host may not be edited: the router sends the client's Host (line 6)`},
		{"content-length",
			"      response: {set: {Content-Length: '5'}}\n",
			`routes[0].headers.response.set.Content-Length: Content-Length may not be edited: it frames the message; the router and net/http set it (line 6)`},
		{"transfer-encoding",
			"      response: {remove: [Transfer-Encoding]}\n",
			`routes[0].headers.response.remove[0]: Transfer-Encoding may not be edited: it frames the message; the router and net/http set it (line 6)`},
		{"x-forwarded-for",
			"      request: {set: {X-Forwarded-For: 1.2.3.4}}\n",
			`routes[0].headers.request.set.X-Forwarded-For: X-Forwarded-For may not be edited: the router sets it from the connection (line 6)`},
		{"x-request-id",
			"      response: {remove: [x-request-id]}\n",
			`routes[0].headers.response.remove[0]: X-Request-Id may not be edited: the router sets it to the request id on both sides (line 6)`},
		{"edited twice",
			"      request: {remove: [X-A], set: {x-a: b}}\n",
			`routes[0].headers.request.set.x-a: X-A is edited twice (also routes[0].headers.request.remove[0]) (line 6)`},
		{"unknown key",
			"      request: {sett: {X-A: b}}\n",
			`routes[0].headers.request.sett: unknown key (did you mean "set"? known: add, remove, set) (line 6)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(app + tt.give))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// A response may set X-Forwarded-For (only the request's is the router's),
// and placeholders, "{{" and a lone "}" load.
func TestHeaderEditsLoad(t *testing.T) {
	c, err := Load([]byte(`backends:
  app: {targets: ['http://127.0.0.1:9000']}
routes:
  - backend: app
    headers:
      request: {set: {X-Client: '{client_ip} via {route}'}, add: {X-Tag: '{{x}'}, remove: [Cookie]}
      response: {set: {X-Forwarded-For: x, X-Id: '{request_id}'}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Routes[0].Headers.Request.Remove; len(got) != 1 || got[0] != "Cookie" {
		t.Errorf("remove %q", got)
	}
}

func TestParseHeaderValue(t *testing.T) {
	for _, tt := range []struct {
		give string
		want []ValuePart
	}{
		{"", nil},
		{"plain", []ValuePart{{Text: "plain"}}},
		{"{client_ip}", []ValuePart{{Kind: PlaceClientIP}}},
		{"a{request_id}b{route}", []ValuePart{{Text: "a"}, {Kind: PlaceRequestID}, {Text: "b"}, {Kind: PlaceRoute}}},
		{"{{x}} }", []ValuePart{{Text: "{x}} }"}}},
	} {
		got, err := ParseHeaderValue(tt.give)
		if err != nil {
			t.Errorf("%q: %v", tt.give, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %v, want %v", tt.give, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: %v, want %v", tt.give, got, tt.want)
			}
		}
	}
}

// FuzzParseHeaderValue: any input parses or fails without panicking, and a
// parsed template holds no byte a field value may not.
func FuzzParseHeaderValue(f *testing.F) {
	for _, s := range []string{"", "a", "{client_ip}", "{{", "{", "}", "x{route}y{request_id}", "{nope}", "a\r\nb", "{{client_ip}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := ParseHeaderValue(s)
		if err != nil {
			return
		}
		for _, p := range parts {
			if p.Kind == PlainText && strings.ContainsAny(p.Text, "\r\n\x00") {
				t.Fatalf("%q: literal %q holds a forbidden byte", s, p.Text)
			}
			if p.Kind != PlainText && p.Text != "" {
				t.Fatalf("%q: placeholder with text", s)
			}
		}
	})
}
