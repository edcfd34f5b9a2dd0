package ratelimit

import (
	"fmt"
	"slices"

	"github.com/bulwark-router/bulwark/config"
)

type verdict uint8

const (
	unlisted verdict = iota
	allowed
	denied
)

// lenKey is a masked prefix with its length in the 128-bit form:
// 10.0.0.0/8 and 10.0.0.0/16 are different entries.
type lenKey struct {
	k key
	n int
}

// prefixLists answers abuse.allow and abuse.deny by longest-prefix match: the
// most specific listed prefix decides, so "allow 10.0.0.0/8, deny
// 10.9.0.0/16" denies 10.9.x.x and allows the rest of 10/8; a prefix in both
// lists denies. IPv4 and IPv6 prefixes never match the other family (::/0 is
// not 0.0.0.0/0). A lookup costs one map probe per distinct prefix length in
// the address's family and does not allocate. Immutable once built; nil
// means both lists are empty.
type prefixLists struct {
	lens4, lens6 []int
	m            map[lenKey]verdict
}

func newPrefixLists(allow, deny []string) (*prefixLists, error) {
	if len(allow) == 0 && len(deny) == 0 {
		return nil, nil
	}
	pl := &prefixLists{m: map[lenKey]verdict{}}
	add := func(list []string, v verdict, field string) error {
		for i, s := range list {
			p, err := config.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("abuse.%s[%d]: %w", field, i, err)
			}
			n := p.Bits()
			is4 := p.Addr().Is4() || (p.Addr().Is4In6() && n >= 96)
			if p.Addr().Is4() {
				n += 96
			}
			lk := lenKey{keyOf(p.Addr()).masked(n), n}
			if pl.m[lk] != denied {
				pl.m[lk] = v
			}
			if is4 {
				pl.lens4 = append(pl.lens4, n)
			} else {
				pl.lens6 = append(pl.lens6, n)
			}
		}
		return nil
	}
	if err := add(allow, allowed, "allow"); err != nil {
		return nil, err
	}
	if err := add(deny, denied, "deny"); err != nil {
		return nil, err
	}
	for _, l := range []*[]int{&pl.lens4, &pl.lens6} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
		slices.Reverse(*l)
	}
	return pl, nil
}

// lookup returns the verdict for a client key. A nil list answers unlisted.
func (pl *prefixLists) lookup(k key) verdict {
	if pl == nil {
		return unlisted
	}
	lens := pl.lens6
	if k.is4() {
		lens = pl.lens4
	}
	for _, n := range lens {
		if v, ok := pl.m[lenKey{k.masked(n), n}]; ok {
			return v
		}
	}
	return unlisted
}
