package breaker

// numBuckets splits the rolling window: counts older than the window leave it
// one bucket (Window/10) at a time.
const numBuckets = 10

// bucket counts the requests that finished during one bucket-wide slice of
// time; epoch is that slice's index (ns since New / width).
type bucket struct {
	epoch    int64
	ok, fail uint32
}

// window is a ring of buckets covering the last Window of finished requests.
// Its zero value (with width set) is empty. Not safe for concurrent use: the
// Breaker guards it with its mutex.
type window struct {
	width int64 // ns per bucket, at least 1
	b     [numBuckets]bucket
}

// add counts one finished request at t (ns since New).
func (w *window) add(t int64, failed bool) {
	e := t / w.width
	bk := &w.b[e%numBuckets]
	if bk.epoch != e {
		*bk = bucket{epoch: e}
	}
	if failed {
		bk.fail++
	} else {
		bk.ok++
	}
}

// counts sums the buckets still inside the window at t.
func (w *window) counts(t int64) (ok, failed int) {
	e := t / w.width
	for i := range w.b {
		bk := &w.b[i]
		if bk.epoch > e-numBuckets && bk.epoch <= e {
			ok += int(bk.ok)
			failed += int(bk.fail)
		}
	}
	return ok, failed
}

func (w *window) reset() { w.b = [numBuckets]bucket{} }
