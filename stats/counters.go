package stats

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
)

// statsd counters are not sent per event. While a statsd sink is on, the
// request path adds to atomic counters (one per status code and pair, per
// API name, per pair for backend errors, per rejection reason), and the
// sink's sender reads them at each flush interval and sends one line
// PREFIX.NAME:N|c per name whose count is not zero. Reading swaps every
// counter to zero, so when a reload makes two sinks flush at once each
// increment is still sent exactly once.

// sdCounts is what one flush read from the counters.
type sdCounts struct {
	codes    [numCodes]int64
	rejected [numReasons + 1]int64
	apis     map[apiKey]int64 // PREFIX.ROUTE.API
	errors   map[string]int64 // PREFIX.backend.NAME.error, by backend segment
}

type apiKey struct{ route, api string }

// swapNonZero returns c and sets it to zero; a zero counter is only read,
// so an idle counter costs the request path no cache-line transfer.
func swapNonZero(c *atomic.Int64) int64 {
	if c.Load() == 0 {
		return 0
	}
	return c.Swap(0)
}

// takeCounts reads every statsd counter and sets it to zero. It scans every
// pair's status codes: a few thousand atomic loads for a config-sized table.
func (s *Stats) takeCounts() *sdCounts {
	c := &sdCounts{}
	for i := range s.rejected {
		c.rejected[i] = swapNonZero(&s.rejected[i])
	}
	// Pairs of one route share its apiSet; several pairs share a backend.
	sets := map[*apiSet]string{}
	for _, p := range s.pairs.pairs.snapshot() {
		for i := range p.codes {
			if r := p.codes[i].Load(); r != nil {
				c.codes[i] += swapNonZero(&r.sd)
			}
		}
		if n := swapNonZero(&p.sdErrors); n != 0 {
			if c.errors == nil {
				c.errors = map[string]int64{}
			}
			c.errors[p.sdBackend] += n
		}
		if p.apis != nil {
			sets[p.apis] = p.sdRoute
		}
	}
	for set, route := range sets {
		set.take(func(api string, n int64) {
			if c.apis == nil {
				c.apis = map[apiKey]int64{}
			}
			// Two routes may share a segment ("a.b", "a_b"): sum them.
			c.apis[apiKey{route, api}] += n
		})
	}
	return c
}

// appendLines appends PREFIX.NAME:N|c, each line ending in '\n', for every
// name whose count is not zero, sorted within each kind. PREFIX.request, the
// sum of all status codes, comes last, so a reader that has seen it has seen
// the rest of the flush.
func (c *sdCounts) appendLines(b []byte, prefix string) []byte {
	line := func(b []byte, n int64, name ...string) []byte {
		b = append(b, prefix...)
		for _, s := range name {
			b = append(b, '.')
			b = append(b, s...)
		}
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
		return append(b, "|c\n"...)
	}
	var requests int64
	for i, n := range c.codes {
		if n != 0 {
			requests += n
			b = line(b, n, "response", codeNames[i])
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(c.apis), func(a, b apiKey) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.api, b.api))
	}) {
		b = line(b, c.apis[k], k.route, k.api)
	}
	for _, backend := range slices.Sorted(maps.Keys(c.errors)) {
		b = line(b, c.errors[backend], "backend", backend, "error")
	}
	for i, n := range c.rejected {
		if n != 0 {
			b = line(b, n, rejectedNames[i])
		}
	}
	if requests != 0 {
		b = line(b, requests, "request")
	}
	return b
}

// rejectedNames are the statsd names of every reason, and of out-of-range
// ones last.
var rejectedNames = func() (n [numReasons + 1]string) {
	for i := range n {
		n[i] = "rejected." + Reason(i).String()
	}
	return n
}()
