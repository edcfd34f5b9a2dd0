package breaker

// notify delivers queued changes, in order, without holding mu. Only one
// goroutine delivers at a time; others leave their changes to it.
func (b *Breaker) notify() {
	b.mu.Lock()
	if b.notifying || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	b.notifying = true
	done := false
	defer func() {
		if !done { // a callback panicked: let the next change deliver
			b.mu.Lock()
			b.notifying = false
			b.mu.Unlock()
		}
	}()
	for len(b.pending) > 0 {
		batch := b.pending
		b.pending = b.spare[:0]
		b.mu.Unlock()
		for _, tr := range batch {
			b.onChange(tr.from, tr.to)
		}
		b.mu.Lock()
		b.spare = batch[:0]
	}
	b.notifying = false
	b.mu.Unlock()
	done = true
}
