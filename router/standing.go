package router

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
)

// standing is the router's side of reputation tokens (abuse.token): it
// finds a request's token, verifies it (once per connection), admits its
// holder under the token's own identity and issues tokens to clients that
// earned standing. Built at start; safe for concurrent use.
type standing struct {
	adm    *ratelimit.Admission
	keys   *tokenKeys
	name   string
	secure string // auto, always, never
	ttl    time.Duration
	issued issueCap
}

// minIssueScore is the score from which a client is given a token.
const minIssueScore = ratelimit.ScoreKnown

func newStanding(ab config.Abuse, adm *ratelimit.Admission) (*standing, error) {
	cur, err := tokenSecret(ab.Token.SecretFile, ab.StateFile)
	if err != nil {
		return nil, err
	}
	k := &tokenKeys{cur: newMacKey(cur), ttl: int64(ab.Token.TTL.D() / time.Second)}
	if f := ab.Token.PreviousSecretFile; f != "" {
		prev, err := readSecret(f)
		if err != nil {
			return nil, fmt.Errorf("abuse.token.previous_secret_file: %w", err)
		}
		k.prev = newMacKey(prev)
	}
	s := &standing{adm: adm, keys: k, name: ab.Token.CookieName, secure: ab.Token.Secure, ttl: ab.Token.TTL.D()}
	s.issued.perMinute = ab.Token.IssuePerNetworkPerMinute
	return s, nil
}

// minSecret is the shortest key accepted: HMAC-SHA256's output size.
const minSecret = 32

func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < minSecret {
		return nil, fmt.Errorf("%s: the key must be at least %d bytes", path, minSecret)
	}
	return b, nil
}

// tokenSecret is the signing key: secret_file's, else the one kept beside
// the state file (made and written there the first time), else a random
// one for this process.
func tokenSecret(secretFile, stateFile string) ([]byte, error) {
	if secretFile != "" {
		b, err := readSecret(secretFile)
		if err != nil {
			return nil, fmt.Errorf("abuse.token.secret_file: %w", err)
		}
		return b, nil
	}
	if stateFile != "" {
		path := stateFile + ".key"
		if b, err := readSecret(path); err == nil {
			return b, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("abuse.state_file key: %w", err)
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	key = []byte(fmt.Sprintf("%x", key))
	if stateFile != "" {
		if err := writeFileAtomic(stateFile+".key", key, 0o600); err != nil {
			return nil, fmt.Errorf("abuse.state_file key: %w", err)
		}
	}
	return key, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// connTokens caches the token last verified on a connection, so a token
// is verified once per connection, not once per request.
type connTokens struct {
	last  atomic.Pointer[verifiedToken]
	nonce atomic.Pointer[solvedNonce] // the last solved challenge nonce (challenge.go)
}

// verifiedToken is a token verified on a connection: its cookie value, the
// Cookie field it came in (a client sends the same field request after
// request: it is then not even searched again) and what it says.
type verifiedToken struct {
	field, raw string
	c          tokenClaims
}

type connTokensKey struct{}

// withConnTokens is the public server's ConnContext.
func withConnTokens(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connTokensKey{}, &connTokens{})
}

func connTokensOf(ctx context.Context) *connTokens {
	c, _ := ctx.Value(connTokensKey{}).(*connTokens)
	return c
}

// identify looks for a valid, unrevoked token in the request's cookies;
// with one, the request is admitted under the token's key. Called by
// checkIn before admission.
func (s *standing) identify(st *requestState, now time.Time) {
	c, ok := s.claims(st, now)
	if !ok || s.adm.Revocations().Revoked(c.id, now) {
		return
	}
	st.token, st.hasToken = c.id, true
	st.key = ratelimit.TokenKey(c.id)
}

// claims are what the request's valid token says: the connection's last
// one when the request carries the same, else its cookie's, verified.
func (s *standing) claims(st *requestState, now time.Time) (tokenClaims, bool) {
	var last *verifiedToken
	if st.conn != nil {
		// A long-lived connection's token may expire while it is cached.
		if last = st.conn.last.Load(); last != nil && now.Unix()-last.c.issued >= s.keys.ttl {
			last = nil
		}
	}
	if last != nil && len(st.cookies) == 1 && st.cookies[0] == last.field {
		return last.c, true
	}
	raw, ok := findCookie(st.cookies, s.name)
	if !ok || len(raw) != tokenLen {
		return tokenClaims{}, false
	}
	if last != nil && raw == last.raw {
		return last.c, true
	}
	c, valid, _ := s.keys.verify(raw, now.Unix())
	if !valid {
		return tokenClaims{}, false
	}
	if st.conn != nil {
		v := &verifiedToken{raw: raw, c: c}
		if len(st.cookies) == 1 {
			v.field = st.cookies[0]
		}
		st.conn.last.Store(v)
	}
	s.adm.Vouch(now, ratelimit.TokenKey(c.id), c.standing())
	return c, true
}

// issueCap counts the tokens issued per network per minute.
type issueCap struct {
	perMinute int
	mu        sync.Mutex
	minute    int64
	n         map[netip.Prefix]int
}

// maxIssueNets bounds the networks counted in one minute.
const maxIssueNets = 1 << 16

func (c *issueCap) take(client netip.Addr, now time.Time) bool {
	if c.perMinute <= 0 || !client.IsValid() {
		return false
	}
	bits := 24
	if !client.Unmap().Is4() {
		bits = 48
	}
	p, _ := client.Unmap().Prefix(bits)
	m := now.Unix() / 60
	c.mu.Lock()
	defer c.mu.Unlock()
	if m != c.minute || c.n == nil {
		c.minute, c.n = m, map[netip.Prefix]int{}
	}
	if c.n[p] >= c.perMinute || len(c.n) >= maxIssueNets {
		return false
	}
	c.n[p]++
	return true
}

// issue adds a token for the request's client to its answer h, unless a
// shared cache may store the answer or the client's network has had its
// tokens this minute.
func (s *standing) issue(st *requestState, h http.Header, now time.Time) {
	if sharedCacheable(h["Cache-Control"]) {
		return
	}
	// Standing first: a network's clients without it use none of its cap.
	sd := s.adm.StandingOf(now, st.key)
	if sd.Score < minIssueScore || !s.issued.take(st.client, now) {
		return
	}
	var idb [8]byte
	rand.Read(idb[:])
	c := tokenClaims{id: binary.BigEndian.Uint64(idb[:]), score: sd.Score, issued: now.Unix(), since: sd.Since.Unix()}
	if c.since > c.issued || sd.Since.IsZero() {
		c.since = c.issued
	}
	// The token's record starts with the standing it was issued for.
	s.adm.Vouch(now, ratelimit.TokenKey(c.id), c.standing())
	var b strings.Builder
	b.WriteString(s.name)
	b.WriteByte('=')
	b.WriteString(s.keys.sign(c))
	b.WriteString("; Path=/; Max-Age=")
	b.WriteString(strconv.FormatInt(int64(s.ttl/time.Second), 10))
	b.WriteString("; HttpOnly; SameSite=Lax")
	if s.secure == "always" || s.secure == "auto" && st.https {
		b.WriteString("; Secure")
	}
	h["Set-Cookie"] = append(h["Set-Cookie"], b.String())
}

// sharedCacheable reports whether Cache-Control lets a shared cache store
// the answer (public or s-maxage): such an answer never carries a token.
func sharedCacheable(cc []string) bool {
	for _, v := range cc {
		l := strings.ToLower(v)
		if strings.Contains(l, "public") || strings.Contains(l, "s-maxage") {
			return true
		}
	}
	return false
}
