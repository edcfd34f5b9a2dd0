package router

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/ratelimit"
)

func testKeys(secret string) *tokenKeys {
	return &tokenKeys{cur: newMacKey([]byte(secret)), ttl: int64(24 * time.Hour / time.Second)}
}

const (
	secretA = "0123456789abcdef0123456789abcdef"
	secretB = "fedcba9876543210fedcba9876543210"
)

func TestTokenVerify(t *testing.T) {
	now := int64(1_800_000_000)
	a, b := testKeys(secretA), testKeys(secretB)
	rotated := &tokenKeys{cur: b.cur, prev: a.cur, ttl: a.ttl}
	good := tokenClaims{id: 42, score: 200, issued: now - 60, since: now - 600}
	v := a.sign(good)
	if len(v) != tokenLen {
		t.Fatalf("token %q is %d characters, want %d", v, len(v), tokenLen)
	}
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := []struct {
		name    string
		keys    *tokenKeys
		give    string
		at      int64
		wantOK  bool
		wantOld bool
	}{
		{"valid", a, v, now, true, false},
		{"forged body", a, flip(v, 3), now, false, false},
		{"forged mac", a, flip(v, 40), now, false, false},
		{"another key", b, v, now, false, false},
		{"previous key during rotation", rotated, v, now, true, true},
		{"expired", a, v, now - 60 + 24*3600, false, false},
		{"issued in the future", a, v, now - 200, false, false},
		{"too short", a, v[:45], now, false, false},
		{"too long", a, v + "A", now, false, false},
		{"not base64url", a, strings.Replace(v, v[5:6], "+", 1), now, false, false},
		{"stray low bits", a, v[:45] + string(b64alpha[b64[v[45]]|1]), now, false, false},
		{"empty", a, "", now, false, false},
	}
	for _, tt := range tests {
		c, ok, old := tt.keys.verify(tt.give, tt.at)
		if ok != tt.wantOK || old != tt.wantOld {
			t.Errorf("%s: ok %v old %v, want %v %v", tt.name, ok, old, tt.wantOK, tt.wantOld)
		}
		if ok && c != good {
			t.Errorf("%s: claims %+v, want %+v", tt.name, c, good)
		}
	}
}

const b64alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestFindCookie(t *testing.T) {
	many := strings.Repeat("a=1; ", maxCookies) + "rep=x"
	tests := []struct {
		name   string
		give   []string
		want   string
		wantOK bool
	}{
		{"one", []string{"rep=abc"}, "abc", true},
		{"among others", []string{"a=1; rep=abc; b=2"}, "abc", true},
		{"second field", []string{"a=1", "rep=abc"}, "abc", true},
		{"quoted", []string{`rep="abc"`}, "abc", true},
		{"first wins", []string{"rep=abc; rep=def"}, "abc", true},
		{"prefix name is another cookie", []string{"xrep=abc; repx=def"}, "", false},
		{"spaces", []string{"  rep =  abc  ;"}, "abc", true},
		{"none", []string{"a=1"}, "", false},
		{"no value", []string{"rep"}, "", false},
		{"too many cookies", []string{many}, "", false},
		{"too large", []string{"rep=abc; pad=" + strings.Repeat("x", maxCookieBytes)}, "", false},
	}
	for _, tt := range tests {
		got, ok := findCookie(tt.give, "rep")
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: %q %v, want %q %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// FuzzTokenCookie feeds arbitrary Cookie fields to the cookie finder and
// the token verifier: nothing panics, and only a signed token verifies.
func FuzzTokenCookie(f *testing.F) {
	k := testKeys(secretA)
	now := int64(1_800_000_000)
	v := k.sign(tokenClaims{id: 7, score: 130, issued: now, since: now})
	f.Add("bulwark_rep=" + v)
	f.Add("a=1; bulwark_rep=\"" + v + "\"; b=2")
	f.Add("bulwark_rep=" + strings.Repeat("A", tokenLen))
	f.Add(";;;=;bulwark_rep")
	f.Fuzz(func(t *testing.T, field string) {
		raw, ok := findCookie([]string{field}, "bulwark_rep")
		if !ok {
			return
		}
		if c, ok, _ := k.verify(raw, now); ok && raw != v {
			t.Fatalf("%q verified as %+v", raw, c)
		}
	})
}

// BenchmarkTokenVerify measures a token's verification (verify), with the
// search for its cookie first (cookie+verify), and the HMAC-SHA256 of the
// token's 18 bytes alone (hmac), the floor of any verification, measured
// in the same run: a machine's speed shows in all three alike.
func BenchmarkTokenVerify(b *testing.B) {
	k := testKeys(secretA)
	now := int64(1_800_000_000)
	v := k.sign(tokenClaims{id: 7, score: 130, issued: now, since: now})
	fields := []string{"a=1; bulwark_rep=" + v + "; b=2"}
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, _ := k.verify(v, now); !ok {
				b.Fatal("not verified")
			}
		}
	})
	b.Run("cookie+verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := findCookie(fields, "bulwark_rep")
			if _, ok, _ := k.verify(raw, now); !ok {
				b.Fatal("not verified")
			}
		}
	})
	b.Run("hmac", func(b *testing.B) {
		h := hmac.New(sha256.New, []byte(secretA))
		var body [tokenBody]byte
		var sum [sha256.Size]byte
		b.ReportAllocs()
		for b.Loop() {
			h.Reset()
			h.Write(body[:])
			h.Sum(sum[:0])
		}
	})
}

func BenchmarkTokenIssue(b *testing.B) {
	k := testKeys(secretA)
	now := int64(1_800_000_000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k.sign(tokenClaims{id: 7, score: ratelimit.ScoreKnown, issued: now, since: now})
		}
	})
}

// Verification allocates nothing.
func TestTokenVerifyAllocatesNothing(t *testing.T) {
	k := testKeys(secretA)
	now := int64(1_800_000_000)
	v := k.sign(tokenClaims{id: 7, score: 130, issued: now, since: now})
	k.verify(v, now)
	if n := testing.AllocsPerRun(100, func() { k.verify(v, now) }); n != 0 && !raceEnabled {
		t.Fatalf("%v allocations per verification", n)
	}
}

// decodeB64 agrees with encoding/base64's strict raw URL decoding on every
// length and on random and mangled input.
func TestDecodeB64MatchesStdlib(t *testing.T) {
	enc := base64.RawURLEncoding.Strict()
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=."
	for range 20000 {
		n := rng.IntN(50)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(64)]
			if rng.IntN(40) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		v := string(b)
		want, err := enc.DecodeString(v)
		for _, size := range []int{len(want), len(want) + 1, max(len(want)-1, 0)} {
			dst := make([]byte, size)
			ok := decodeB64(dst, v)
			if exp := err == nil && size == len(want); ok != exp || ok && !bytes.Equal(dst, want) {
				t.Fatalf("%q into %d bytes: %v %x, stdlib %x %v", v, size, ok, dst, want, err)
			}
		}
	}
}
