package router

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
)

// A reputation token (abuse.token) is 34 bytes, base64url without padding
// in its cookie (46 characters):
//
//	[0]      version (tokenVersion)
//	[1]      score at issue (ratelimit.Score)
//	[2:6]    issued, Unix seconds
//	[6:10]   first seen, Unix seconds
//	[10:18]  random id: the token's identity (ratelimit.TokenKey)
//	[18:34]  HMAC-SHA256 of [0:18] under the fleet's key, first 16 bytes
const (
	tokenVersion = 1
	tokenBody    = 18
	tokenRaw     = tokenBody + 16
	tokenLen     = (tokenRaw*8 + 5) / 6 // 46
	// tokenSkew is how far in the future an issue time may lie (another
	// router's clock).
	tokenSkew = int64(time.Minute)
)

// tokenClaims is what a valid token says.
type tokenClaims struct {
	id     uint64
	score  ratelimit.Score
	issued int64 // Unix seconds
	since  int64 // Unix seconds
}

// standing is the standing the token carries, for ratelimit.Vouch.
func (c tokenClaims) standing() ratelimit.Standing {
	return ratelimit.Standing{Score: c.score, Since: time.Unix(c.since, 0)}
}

// macKey is one HMAC key with a pool of keyed hashes (hmac keeps its
// padded key states, so Reset and Sum allocate nothing after the first).
type macKey struct{ pool sync.Pool }

// macState is a pooled hash with the buffers a verification needs, so
// that nothing the hash's interface methods see lives on a stack.
type macState struct {
	h   hash.Hash
	raw [tokenRaw]byte // a token, or a nonce's MAC input (challenge.go)
	sum [sha256.Size]byte
}

func newMacKey(key []byte) *macKey {
	k := append([]byte(nil), key...)
	m := &macKey{}
	m.pool.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return m
}

// mac writes the MAC of s.raw's body into s.sum.
func (s *macState) mac() []byte { return s.macOf(tokenBody) }

// macOf writes the MAC of s.raw[:n] into s.sum.
func (s *macState) macOf(n int) []byte {
	s.h.Reset()
	s.h.Write(s.raw[:n])
	return s.h.Sum(s.sum[:0])
}

// tokenKeys signs with cur and accepts cur or prev (a key being rotated
// out). Immutable once built.
type tokenKeys struct {
	cur, prev *macKey
	ttl       int64 // seconds
}

// verify checks a cookie value at now (Unix seconds). It allocates
// nothing. old reports a token signed with the previous key.
func (k *tokenKeys) verify(v string, now int64) (c tokenClaims, ok, old bool) {
	if len(v) != tokenLen {
		return c, false, false
	}
	for i, m := range [2]*macKey{k.cur, k.prev} {
		if m == nil {
			continue
		}
		s := m.pool.Get().(*macState)
		ok = decodeToken(&s.raw, v) && s.raw[0] == tokenVersion &&
			subtle.ConstantTimeCompare(s.mac()[:16], s.raw[tokenBody:]) == 1
		if ok {
			c = tokenClaims{
				score:  ratelimit.Score(s.raw[1]),
				issued: int64(binary.BigEndian.Uint32(s.raw[2:])),
				since:  int64(binary.BigEndian.Uint32(s.raw[6:])),
				id:     binary.BigEndian.Uint64(s.raw[10:]),
			}
		}
		m.pool.Put(s)
		if ok {
			ok = c.issued <= now+tokenSkew/1e9 && now-c.issued < k.ttl && c.since <= c.issued
			return c, ok, i == 1
		}
	}
	return c, false, false
}

// sign makes the cookie value for c with the current key.
func (k *tokenKeys) sign(c tokenClaims) string {
	s := k.cur.pool.Get().(*macState)
	defer k.cur.pool.Put(s)
	s.raw[0] = tokenVersion
	s.raw[1] = byte(c.score)
	binary.BigEndian.PutUint32(s.raw[2:], uint32(c.issued))
	binary.BigEndian.PutUint32(s.raw[6:], uint32(c.since))
	binary.BigEndian.PutUint64(s.raw[10:], c.id)
	copy(s.raw[tokenBody:], s.mac()[:16])
	return base64.RawURLEncoding.EncodeToString(s.raw[:])
}

// b64 maps a base64url character to its value, 0xff for others.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alpha) {
		t[alpha[i]] = byte(i)
	}
	return t
}()

// decodeToken decodes a tokenLen-character value into dst, refusing any
// other character and a last character with stray low bits (one token,
// one spelling).
func decodeToken(dst *[tokenRaw]byte, v string) bool { return decodeB64(dst[:], v) }
