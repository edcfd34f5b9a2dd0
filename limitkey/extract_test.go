package limitkey

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	h := http.Header{"X-Api-Key": {"K1"}, "Cookie": {"a=1; sid=S2"}}
	for _, tc := range []struct {
		key, query, body string
		want             string
		res              Result
	}{
		{"header:X-API-Key", "", "", "K1", Found},
		{"header:X-Other", "", "", "", Missing},
		{"cookie:sid", "", "", "S2", Found},
		{"query:user", "user=Bob%40x.org&z=1", "", "Bob@x.org", Found},
		{"json:user", "", `{"pass":"x","user":"Alice@Example.org"}`, "alice@example.org", Found},
		{"json:user", "", `{"user":{"a":1},"x":2}`, "", Missing},
		{"json:user", "", `{"nested":{"user":"a"}}`, "", Missing},
		{"json:user", "", `{"user":"a","user":"b"}`, "", Duplicate},
		{"json:user", "", `{"user":"a","pass":`, "a", Found},
		{"json:id", "", `{"id":12345}`, "12345", Found},
		{"json:user", "", `["user"]`, "", Missing},
		{"json:user", "", `{"user":""}`, "", Missing},
		{"json:user", "", `{"User":"a","us\u0065r":"b"}`, "", Duplicate},
		{"json:user", "", ` { "x" : [1, {"user": "n"}, "]"] , "user" : "Z\u00e9" } `, "zé", Found},
		{"json:user", "", `{"x":tru,"user":"a"}`, "a", Found},
		{"json:user", "", `{"x":"\"","user":-1.5e3}`, "-1.5e3", Found},
		{"json:user", "", `{"x" "user":"a"}`, "", Missing},
		{"form:user", "", "user=carol&pass=x", "carol", Found},
		{"form:user", "", "user=carol&user=dave", "", Duplicate},
	} {
		s, err := ParseSpec(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		s.Fold = true
		got, res := Extract(s, h, tc.query, []byte(tc.body))
		want := strings.ToLower(tc.want)
		if got != want || res != tc.res {
			t.Errorf("%s %q %q: %q %v, want %q %v", tc.key, tc.query, tc.body, got, res, want, tc.res)
		}
	}
}

func TestParseSpec(t *testing.T) {
	for _, bad := range []string{"json:", "body:x", "header", "cookie:a b"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestHasherKeysDiffer(t *testing.T) {
	h := NewHasher([]byte("secret"))
	a, b := h.Sum("login", "alice"), h.Sum("login", "bob")
	if a == b || a != h.Sum("login", "alice") || a == h.Sum("other", "alice") {
		t.Fatal("keys do not tell values and policies apart")
	}
	if NewHasher([]byte("other")).Sum("login", "alice") == a {
		t.Fatal("the key does not depend on the secret")
	}
	c1, c2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if h.Missing("login", c1) == h.Missing("login", c2) {
		t.Fatal("missing keys are shared between clients")
	}
}

// BenchmarkJSONKey1KiB: the key of a 1 KiB JSON login body.
func BenchmarkJSONKey1KiB(b *testing.B) {
	body := `{"client":"web","remember":true,"meta":{"ua":"` + strings.Repeat("m", 800) + `","n":[1,2,3]},"user":"alice@example.org","password":"` + strings.Repeat("p", 100) + `"}`
	s := Spec{Kind: JSON, Name: "user", Fold: true}
	h := NewHasher([]byte("k"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		v, res := Extract(s, nil, "", []byte(body))
		if res != Found {
			b.Fatal(res)
		}
		h.Sum("login", v)
	}
}

// FuzzExtract: any body, query or header value is taken or refused
// without panicking, and a value found is bounded.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{`{"user":"a"}`, `{"user":"a","user":"b"}`, `{"x":[{"user":1}],"user":2}`,
		"user=a&user=b", "user=%zz", `{"user":`, `{`, ""} {
		f.Add(s, "user=x")
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		h := http.Header{"Cookie": {body}, "X-User": {query}}
		for _, k := range []string{"json:user", "form:user", "query:user", "cookie:user", "header:X-User"} {
			s, _ := ParseSpec(k)
			v, res := Extract(s, h, query, []byte(body))
			if res == Found && (v == "" || len(v) > maxValue) {
				t.Fatalf("%s: found %q", k, v)
			}
			if res != Found && v != "" {
				t.Fatalf("%s: %v with value %q", k, res, v)
			}
		}
	})
}

// BenchmarkJSONField1KiB: finding the field alone, without the HMAC.
func BenchmarkJSONField1KiB(b *testing.B) {
	body := []byte(`{"client":"web","remember":true,"meta":{"ua":"` + strings.Repeat("m", 800) + `","n":[1,2,3]},"user":"alice@example.org","password":"` + strings.Repeat("p", 100) + `"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, res := JSONField(body, "user"); res != Found {
			b.Fatal(res)
		}
	}
}
