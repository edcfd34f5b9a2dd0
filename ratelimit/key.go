package ratelimit

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
)

// key is a client (or network) address in 16-byte form, IPv4 as
// ::ffff:a.b.c.d. It holds no pointer, so the tables it keys are never
// scanned by the garbage collector.
type key struct{ hi, lo uint64 }

func keyOf(a netip.Addr) key {
	b := a.As16()
	return key{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k key) is4() bool { return k.hi == 0 && k.lo>>32 == 0xffff }

func (k key) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.AddrFrom16(b).Unmap()
}

// masked keeps the first n bits of the 128-bit form.
func (k key) masked(n int) key {
	switch {
	case n <= 0:
		return key{}
	case n < 64:
		return key{k.hi &^ (math.MaxUint64 >> n), 0}
	case n == 64:
		return key{k.hi, 0}
	case n < 128:
		return key{k.hi, k.lo &^ (math.MaxUint64 >> (n - 64))}
	}
	return k
}

// prefix keeps the first v4 bits of an IPv4 key or v6 bits of an IPv6 key.
func (k key) prefix(v4, v6 int) key {
	if k.is4() {
		return k.masked(96 + v4)
	}
	return k.masked(v6)
}

// hash64 mixes a key with a seed (a wyhash-style multiply-fold).
func hash64(k key, seed uint64) uint64 {
	hi, lo := bits.Mul64(k.hi^seed^0xa0761d6478bd642f, k.lo^0xe7037ed1a0b428db)
	hi, lo = bits.Mul64(hi^lo^0x8ebc6af09c88c6e3, seed^0x589965cc75374cc3)
	return hi ^ lo
}

// tagSeed derives the seed for a (key, tag) pair in the sketch: tag is a
// policy id, with bit 8 set for per-network buckets.
func tagSeed(seed uint64, tag uint16) uint64 {
	return seed ^ (uint64(tag)+1)*0x9e3779b97f4a7c15
}
