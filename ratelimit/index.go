package ratelimit

// index maps a key to a record position within one shard: open addressing
// with linear probing over a power-of-two array of uint32 slots, each
// holding 8 bits of the key's hash (the tag, to skip most mismatches
// without reading the record) and the position+1 (0 is an empty slot). The
// hash is the one that picked the shard, so a lookup hashes nothing again.
// The load stays at or below 3/4: 5-11 bytes per record, a quarter of a Go
// map's, small enough to stay in the CPU's last-level cache for a million
// clients, and no pointers for the garbage collector to scan. Deletion
// shifts later members of a probe run back (no tombstones).
//
// The zero index is empty and usable. Not safe for concurrent use: its
// shard's mutex guards it.
type index struct {
	slots []uint32
	mask  uint64
	n     int
	seed  uint64 // to rehash records' keys when deleting or growing
}

const (
	posBits = 24
	posMask = 1<<posBits - 1
	// maxShardRecords is the most records one shard can index.
	maxShardRecords = posMask - 1
)

// tagOf takes bits 32-39 of the hash: the top bits pick the shard (all
// records of a shard share them) and the low bits the home slot.
func tagOf(h uint64) uint32 { return uint32(h>>8) &^ posMask }

// find returns the position of k, whose hash is h, in ents.
func (x *index) find(h uint64, k key, ents []entry) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	tag := tagOf(h)
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^posMask == tag {
			if p := s&posMask - 1; ents[p].k == k {
				return p, true
			}
		}
	}
}

// insert adds a key known to be absent, at pos of ents.
func (x *index) insert(h uint64, pos uint32, ents []entry) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow(ents)
	}
	x.place(h, tagOf(h)|(pos+1))
	x.n++
}

func (x *index) place(h uint64, s uint32) {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		if x.slots[i] == 0 {
			x.slots[i] = s
			return
		}
	}
}

// remove deletes the slot of the record at pos, whose key hashes to h.
func (x *index) remove(h uint64, pos uint32, ents []entry) {
	want := tagOf(h) | (pos + 1)
	i := h & x.mask
	for x.slots[i] != want {
		if x.slots[i] == 0 {
			return
		}
		i = (i + 1) & x.mask
	}
	// Backward shift: pull later members of the probe run into the hole
	// unless their home lies cyclically in (hole, j].
	for j := (i + 1) & x.mask; x.slots[j] != 0; j = (j + 1) & x.mask {
		home := hash64(ents[x.slots[j]&posMask-1].k, x.seed) & x.mask
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}

func (x *index) grow(ents []entry) {
	old := x.slots
	size := max(2*len(old), 16)
	x.slots = make([]uint32, size)
	x.mask = uint64(size - 1)
	for _, s := range old {
		if s != 0 {
			x.place(hash64(ents[s&posMask-1].k, x.seed), s)
		}
	}
}
