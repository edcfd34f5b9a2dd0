package router

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

func testChallenger(mode string) *challenger {
	return &challenger{key: newMacKey([]byte(secretA)), mode: mode, name: "bulwark_ch", ttl: 600, powBits: 8}
}

func TestNonceValid(t *testing.T) {
	c := testChallenger("cookie")
	now := int64(1_800_000_000)
	me := netip.MustParseAddr("192.0.2.1").As16()
	other := netip.MustParseAddr("192.0.2.2").As16()
	v := c.nonce(me, 0, now)
	if len(v) != nonceLen {
		t.Fatalf("nonce %q: %d characters, want %d", v, len(v), nonceLen)
	}
	pow := c.nonce(me, 8, now)
	solved := pow + "." + solvePow(pow, 8)
	tests := []struct {
		name   string
		give   string
		client [16]byte
		at     int64
		want   bool
	}{
		{"valid", v, me, now, true},
		{"another address", v, other, now, false},
		{"expired", v, me, now + 600, false},
		{"forged", v[:10] + "A" + v[11:], me, now, v[10] == 'A'},
		{"trailing bytes", v + ".1", me, now, false},
		{"pow unsolved", pow, me, now, false},
		{"pow solved", solved, me, now, true},
		{"pow wrong counter", pow + ".x", me, now, false},
		{"a token is no nonce", testKeys(secretA).sign(tokenClaims{id: 1, issued: now, since: now}), me, now, false},
	}
	for _, tt := range tests {
		if _, got := c.valid(tt.give, tt.client, tt.at); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// solvePow does what the proof-of-work page's script does.
func solvePow(nonce string, bits int) string {
	for n := 0; ; n++ {
		s := fmt.Sprint(n)
		if powOK(nonce, s, bits) {
			return s
		}
	}
}

func TestPowOK(t *testing.T) {
	sum := sha256.Sum256([]byte("n:0"))
	want := sum[0] == 0 && sum[1]&0x80 == 0
	if powOK("n", "0", 9) != want {
		t.Fatal("powOK disagrees with SHA-256")
	}
	if !powOK("n", "0", 0) || powOK("n", "-1", 0) || powOK("n", "99999999999", 0) {
		t.Fatal("powOK counter checks")
	}
}

func TestStripMark(t *testing.T) {
	for give, want := range map[string]string{
		challengeQ:                "",
		"a=1&" + challengeQ:       "a=1",
		challengeQ + "&a=1&b=2":   "a=1&b=2",
		"a=1":                     "a=1",
		"x" + challengeQ + "&a=1": "x" + challengeQ + "&a=1",
	} {
		if got, _ := stripMark(give); got != want {
			t.Errorf("stripMark(%q) = %q, want %q", give, got, want)
		}
	}
}

// heldBackend answers /hold only when release is closed, everything else
// at once, and records the queries it saw.
func heldBackend(t *testing.T) (url string, held chan struct{}, release chan struct{}, queries chan string) {
	held, release, queries = make(chan struct{}, 8), make(chan struct{}), make(chan string, 64)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case queries <- r.URL.RawQuery:
		default:
		}
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	return be.URL, held, release, queries
}

func noRedirects(t *testing.T) *http.Client {
	c := testClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func do(t *testing.T, c *http.Client, method, url, cookie, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// Under saturation a stranger's GET gets one 307 that sets a nonce; back
// without it, a 503 (never a loop); back with it, it is verified. Other
// methods get 503 with the cookie. Nothing is challenged while the backend
// has room.
func TestChallengeCookie(t *testing.T) {
	url, held, release, queries := heldBackend(t)
	srv, base := startRouter(t, `
backends:
  app: {targets: ["`+url+`"], max_in_flight: 1}
routes: [{backend: app}]
`)
	c := noRedirects(t)
	if resp, _ := do(t, c, "GET", base+"/calm", "", ""); resp.StatusCode != 200 || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("no pressure: %d Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	<-queries
	hold(t, base)
	<-held

	resp, _ := do(t, c, "GET", base+"/page?a=1", "", "")
	loc, cookie := resp.Header.Get("Location"), resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 307 || loc != "/page?a=1&"+challengeQ || !strings.HasPrefix(cookie, "bulwark_ch=") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("challenge: %d Location %q Set-Cookie %q", resp.StatusCode, loc, cookie)
	}
	nonce := strings.SplitN(cookie, ";", 2)[0]
	if resp, _ := do(t, c, "GET", base+loc, "", ""); resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("back without the cookie: %d Retry-After %q, want 503 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := do(t, c, "POST", base+"/api", "", ""); resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(resp.Header.Get("Set-Cookie"), "bulwark_ch=") {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	// Back with the cookie while still full: a plain refusal, and verified.
	if resp, _ := do(t, c, "GET", base+loc, nonce, ""); resp.StatusCode != 503 || resp.Header.Get("Location") != "" {
		t.Fatalf("back with the cookie: %d", resp.StatusCode)
	}
	adm := srv.Router().Admission()
	if s := adm.StandingOf(time.Now(), netip.MustParseAddr("127.0.0.1")); s.Score < verifiedScore {
		t.Fatalf("solved challenge: %+v, want a score of at least %d", s, verifiedScore)
	}
	close(release)
	// The backend never sees the mark.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := do(t, c, "GET", base+loc, nonce, "")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the release: %d", resp.StatusCode)
		}
	}
	for {
		select {
		case q := <-queries:
			if strings.Contains(q, "bulwark_challenge") {
				t.Fatalf("backend saw the mark: %q", q)
			}
			continue
		default:
		}
		break
	}
}

// pow mode serves HTML navigations a page; the counter it finds verifies.
// API clients never get HTML.
func TestChallengePow(t *testing.T) {
	url, held, release, _ := heldBackend(t)
	srv, base := startRouter(t, `
abuse: {challenge: {mode: pow, pow_bits: 8}}
backends:
  app: {targets: ["`+url+`"], max_in_flight: 1}
routes: [{backend: app}]
`)
	c := noRedirects(t)
	hold(t, base)
	<-held
	resp, body := do(t, c, "GET", base+"/", "", "application/json")
	if resp.StatusCode != 307 || strings.Contains(resp.Header.Get("Content-Type"), "html") {
		t.Fatalf("API client: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = do(t, c, "GET", base+"/", "", "text/html,application/xhtml+xml")
	m := regexp.MustCompile(`N="([A-Za-z0-9_-]+)",B=\s*(\d+)`).FindStringSubmatch(body)
	if resp.StatusCode != 503 || m == nil || m[2] != "8" || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("navigation: %d %q\n%s", resp.StatusCode, resp.Header.Get("Set-Cookie"), body)
	}
	cookie := "bulwark_ch=" + m[1] + "." + solvePow(m[1], 8)
	do(t, c, "GET", base+"/", cookie, "text/html")
	if s := srv.Router().Admission().StandingOf(time.Now(), netip.MustParseAddr("127.0.0.1")); s.Score < verifiedScore {
		t.Fatalf("solved proof of work: %+v", s)
	}
	close(release)
}

// hold sends a request to /hold in the background, on its own client.
func hold(t *testing.T, base string) {
	hc := testClient(t)
	go func() {
		if r, err := hc.Get(base + "/hold"); err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
	}()
}
