package limitkey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"
)

// Hasher turns a key's value into a bucket key with HMAC-SHA256 under a
// secret, so neither memory nor logs hold the value (an e-mail address)
// and a plain hash of a guessed value cannot be matched against it.
type Hasher struct {
	pool sync.Pool
}

// NewHasher returns a hasher under secret; an empty secret takes 32
// random bytes (the keys then differ from one process to the next).
func NewHasher(secret []byte) *Hasher {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	s := append([]byte(nil), secret...)
	h := &Hasher{}
	h.pool.New = func() any { return hmac.New(sha256.New, s) }
	return h
}

// Sum is the bucket key of value under policy.
func (h *Hasher) Sum(policy, value string) uint64 {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(policy))
	m.Write([]byte{0})
	m.Write([]byte(value))
	var out [sha256.Size]byte
	sum := m.Sum(out[:0])
	h.pool.Put(m)
	return binary.BigEndian.Uint64(sum)
}

// Missing is the bucket key of a request without the value: its own
// client's, never one shared by every such request.
func (h *Hasher) Missing(policy string, client netip.Addr) uint64 {
	b := client.As16()
	return h.Sum(policy, "\x00missing\x00"+string(b[:]))
}
