package sketch

import "testing"

// A read is the smaller of a key's two slots, never earlier than what was
// raised; resizing either way keeps every remembered debt.
func TestSketchKeepsDebt(t *testing.T) {
	s := New(10)
	keys := []uint64{1, 1 << 40, 0xdeadbeefcafe, 12345678901}
	for i, h := range keys {
		s.Raise(h, int64(100*(i+1)))
		s.Raise(h, 1) // lower: changes nothing
	}
	for _, n := range []int{10, 5000, 1} {
		r := s.Resized(n)
		for i, h := range keys {
			if got := r.Get(h); got < int64(100*(i+1)) {
				t.Fatalf("n=%d: Get(%#x) = %d, want at least %d", n, h, got, 100*(i+1))
			}
		}
	}
	if got := New(10).Get(7); got != 0 {
		t.Fatalf("fresh sketch: %d, want 0", got)
	}
}
