package ratelimit

import (
	"math/rand/v2"
	"testing"
)

// checkIndex runs ops against an index and a Go map side by side: each op
// byte inserts or removes one of 64 keys (the index stays small, so probe
// runs are long and wrap around), then every key is looked up in both.
func checkIndex(t *testing.T, ops []byte) {
	x := index{seed: 7}
	ents := make([]entry, 64)
	want := map[key]uint32{}
	hashOf := func(k key) uint64 { return hash64(k, 7) }
	for _, op := range ops {
		i := uint32(op % 64)
		k := key{hi: 1, lo: uint64(i)}
		if _, ok := want[k]; ok && op&0x80 != 0 {
			x.remove(hashOf(k), i, ents)
			delete(want, k)
			ents[i] = entry{}
		} else if !ok {
			ents[i] = entry{k: k, flags: used}
			x.insert(hashOf(k), i, ents)
			want[k] = i
		}
		if x.n != len(want) {
			t.Fatalf("index holds %d, want %d", x.n, len(want))
		}
		for j := range uint64(64) {
			k := key{hi: 1, lo: j}
			p, ok := x.find(hashOf(k), k, ents)
			wp, wok := want[k]
			if ok != wok || ok && p != wp {
				t.Fatalf("find %d: %d %v, want %d %v", j, p, ok, wp, wok)
			}
		}
	}
}

func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]byte, 5000)
	for i := range ops {
		ops[i] = byte(rng.Uint32())
	}
	checkIndex(t, ops)
}

func FuzzIndex(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0x81, 17, 33, 0x91, 49, 0xa1})
	f.Fuzz(checkIndex)
}
