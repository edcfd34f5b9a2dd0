package router

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/limitkey"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

// A challenge (abuse.challenge) is what a stranger gets instead of a flat
// 503 when it would be refused for lack of capacity: a signed nonce cookie
// bound to its address. A client that comes back with it is verified
// (ratelimit.Admission.Verify) and ranks above unverified strangers.
//
// The nonce cookie's value is base64url of 22 bytes, then, in pow mode, a
// dot and the decimal counter that solves the proof of work:
//
//	[0]     nonceKind
//	[1]     proof-of-work bits (0: none asked)
//	[2:6]   issued, Unix seconds
//	[6:22]  HMAC-SHA256 (the token key) of [0:6] and the client's 16-byte
//	        admission key, first 16 bytes
const (
	nonceKind  = 0x80 // apart from token versions: the two never verify as each other
	nonceHead  = 6
	nonceRaw   = nonceHead + 16
	nonceLen   = (nonceRaw*8 + 5) / 6 // 30
	challengeQ = "bulwark_challenge=1"
)

// challenger answers challenges and recognises solved ones. Its fields
// are immutable; the buckets are safe for concurrent use.
type challenger struct {
	adm     *ratelimit.Admission
	key     *macKey
	mode    string // cookie or pow
	name    string
	ttl     int64 // seconds
	powBits int
	// spent is each nonce's own bucket (abuse.challenge.rate, burst):
	// past it a request with the nonce ranks as a plain stranger's.
	spent *limitkey.Buckets
}

// newChallenger returns nil when abuse.challenge.mode is off.
func newChallenger(c config.Challenge, std *standing) *challenger {
	if c.Mode == "off" {
		return nil
	}
	return &challenger{adm: std.adm, key: std.keys.cur, mode: c.Mode, name: c.CookieName,
		ttl: int64(c.TTL.D() / time.Second), powBits: c.PowBits,
		spent: limitkey.NewBuckets(c.Rate.PerSecond(), c.Burst)}
}

// nonceMAC fills s.raw with head and the client's key and returns the MAC.
func nonceMAC(s *macState, head []byte, client [16]byte) []byte {
	copy(s.raw[:nonceHead], head)
	copy(s.raw[nonceHead:], client[:])
	return s.macOf(nonceHead + 16)
}

// nonce makes a nonce for client asking bits of proof of work.
func (c *challenger) nonce(client [16]byte, bits int, now int64) string {
	s := c.key.pool.Get().(*macState)
	defer c.key.pool.Put(s)
	var out [nonceRaw]byte
	out[0], out[1] = nonceKind, byte(bits)
	binary.BigEndian.PutUint32(out[2:], uint32(now))
	copy(out[nonceHead:], nonceMAC(s, out[:nonceHead], client)[:16])
	return base64.RawURLEncoding.EncodeToString(out[:])
}

// valid reports whether v is a solved, unexpired nonce of client, and
// when it was issued.
func (c *challenger) valid(v string, client [16]byte, now int64) (issued int64, ok bool) {
	if len(v) < nonceLen {
		return 0, false
	}
	raw, work := v[:nonceLen], v[nonceLen:]
	s := c.key.pool.Get().(*macState)
	defer c.key.pool.Put(s)
	var got [nonceRaw]byte
	if !decodeB64(got[:], raw) || got[0] != nonceKind {
		return 0, false
	}
	issued = int64(binary.BigEndian.Uint32(got[2:]))
	if issued > now+tokenSkew/1e9 || now-issued >= c.ttl {
		return 0, false
	}
	if subtle.ConstantTimeCompare(nonceMAC(s, got[:nonceHead], client)[:16], got[nonceHead:]) != 1 {
		return 0, false
	}
	if b := int(got[1]); b > 0 {
		return issued, len(work) > 1 && len(work) <= 11 && work[0] == '.' && powOK(raw, work[1:], b)
	}
	return issued, work == ""
}

// powOK reports whether SHA-256 of "nonce:counter" starts with bits zero
// bits: one hash to check.
func powOK(nonce, counter string, want int) bool {
	if _, err := strconv.ParseUint(counter, 10, 32); err != nil {
		return false
	}
	var buf [nonceLen + 1 + 10]byte
	n := copy(buf[:], nonce)
	buf[n] = ':'
	n++
	n += copy(buf[n:], counter)
	sum := sha256.Sum256(buf[:n])
	z := 0
	for _, b := range sum {
		if b != 0 {
			z += bits.LeadingZeros8(b)
			break
		}
		z += 8
	}
	return z >= want
}

// identify verifies a request's nonce cookie, once per connection, and
// marks its client verified; the request ranks as proven while the
// nonce's own bucket lasts. Called by checkIn before admission.
func (c *challenger) identify(st *requestState, now time.Time) {
	v, ok := findCookie(st.cookies, c.name)
	if !ok || len(v) < nonceLen {
		return
	}
	if !c.solved(st, v, now) {
		return
	}
	st.verified = true
	st.proven, _ = c.spent.Take(maphash.String(nonceSeed, v[:nonceLen]), now.UnixNano())
}

// nonceSeed keys the nonces' buckets.
var nonceSeed = maphash.MakeSeed()

// solved reports whether v is a solved nonce of the request's client: the
// connection's last one, or verified now (and the client marked verified).
func (c *challenger) solved(st *requestState, v string, now time.Time) bool {
	if st.conn != nil {
		// A proxy's connection carries many clients: the nonce is the
		// same client's only.
		if p := st.conn.nonce.Load(); p != nil && p.v == v && p.client == st.key && now.Unix()-p.issued < c.ttl {
			return true
		}
	}
	issued, ok := c.valid(v, st.key.As16(), now.Unix())
	if !ok {
		return false
	}
	c.adm.Verify(now, st.key)
	if st.conn != nil {
		st.conn.nonce.Store(&solvedNonce{v: v, client: st.key, issued: issued})
	}
	return true
}

// solvedNonce is the nonce last solved on a connection.
type solvedNonce struct {
	v      string
	client netip.Addr // the admission key it was solved for
	issued int64      // Unix seconds
}

// answer challenges a request about to be refused for lack of capacity
// (reason) and reports whether it did: not for holders of a token or a
// solved nonce, nor when nothing is saturated (the caller's refusal is
// the proof that something is).
func (c *challenger) answer(rt *Router, st *requestState, r *http.Request, reason stats.Reason) bool {
	if c == nil || st.hasToken || st.verified {
		return false
	}
	now := rt.now().Unix()
	nav := c.mode == "pow" && (r.Method == "GET" || r.Method == "HEAD") && acceptsHTML(r.Header["Accept"])
	b := 0
	if nav {
		b = c.powBits
		if rt.adm.UnderAttack() {
			b += 2
		}
	}
	nonce := c.nonce(st.key.As16(), b, now)
	h := st.w.Header()
	if b == 0 { // the proof-of-work page's script sets its own cookie
		h["Set-Cookie"] = append(h["Set-Cookie"], c.name+"="+nonce+"; Path=/; Max-Age="+
			strconv.FormatInt(c.ttl, 10)+"; HttpOnly; SameSite=Lax")
	}
	h["Cache-Control"] = noStore
	st.reason = "challenge"
	h[reasonHeader] = challengeValue
	rt.noteDecision(st, "challenge", 0, rt.now())
	switch {
	case nav && !st.challenged:
		rt.rec.Rejected(reason)
		h["Content-Type"] = htmlText
		h["Retry-After"] = retryOne
		st.w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != "HEAD" {
			writePowPage(&st.w, c.name, nonce, b)
		}
	case (r.Method == "GET" || r.Method == "HEAD") && !st.challenged:
		// Not counted as a refusal: the retry that follows is decided
		// (and counted) on its own.
		h["Location"] = []string{markedURL(r)}
		writeSmall(&st.w, http.StatusTemporaryRedirect, "retry with the cookie just set")
	default:
		// Other methods, and a client back from the redirect without the
		// cookie: an ordinary retryable refusal, never another redirect.
		rt.rec.Rejected(reason)
		st.reason = reason.String()
		h["Retry-After"] = retryOne
		writeSmall(&st.w, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
	}
	return true
}

var (
	htmlText = []string{"text/html; charset=utf-8"}
	retryOne = []string{"1"}
)

// markedURL is the request's URL with the challenge mark, so the retry is
// recognised even without the cookie.
func markedURL(r *http.Request) string {
	u := r.URL.EscapedPath()
	if u == "" || u[0] != '/' {
		u = "/"
	}
	if q := r.URL.RawQuery; q != "" {
		return u + "?" + q + "&" + challengeQ
	}
	return u + "?" + challengeQ
}

// stripMark takes the challenge mark off a query, reporting whether it was
// there: the backend never sees it.
func stripMark(q string) (string, bool) {
	if !strings.Contains(q, challengeQ) {
		return q, false
	}
	parts := strings.Split(q, "&")
	out := parts[:0]
	found := false
	for _, p := range parts {
		if p == challengeQ {
			found = true
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "&"), found
}

// acceptsHTML reports whether an Accept field asks for HTML: a browser's
// navigation, never an API client's call.
func acceptsHTML(accept []string) bool {
	for _, a := range accept {
		if strings.Contains(a, "text/html") {
			return true
		}
	}
	return false
}

// decodeB64 decodes base64url without padding into exactly len(dst) bytes,
// refusing any other character and stray low bits (one value, one
// spelling). Four characters at a time: it is on every token's path.
func decodeB64(dst []byte, v string) bool {
	rest := len(v) % 4
	if rest == 1 || len(v)/4*3+max(rest-1, 0) != len(dst) {
		return false
	}
	var bad byte // any 0xff (not base64url) sets its top bits
	n := 0
	for i := 0; i+4 <= len(v); i += 4 {
		a, b, c, d := b64[v[i]], b64[v[i+1]], b64[v[i+2]], b64[v[i+3]]
		bad |= a | b | c | d
		x := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[n], dst[n+1], dst[n+2] = byte(x>>16), byte(x>>8), byte(x)
		n += 3
	}
	switch t := v[len(v)-rest:]; rest {
	case 2:
		a, b := b64[t[0]], b64[t[1]]
		bad |= a | b
		if b&0x0f != 0 { // stray low bits
			bad = 0xff
		}
		dst[n] = a<<2 | b>>4
	case 3:
		a, b, c := b64[t[0]], b64[t[1]], b64[t[2]]
		bad |= a | b | c
		if c&0x03 != 0 {
			bad = 0xff
		}
		x := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst[n], dst[n+1] = byte(x>>10), byte(x>>2)
	}
	return bad&0xc0 == 0
}
