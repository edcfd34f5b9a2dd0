package upstream

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// bodyReader is a response body that owns its connection: read to EOF, the
// connection goes back to the pool (when keep); closed early or failed, it
// is closed. Read and Close may be called from different goroutines: a Close
// during a Read closes the socket, and the Read then finishes the job.
type bodyReader struct {
	c    *conn
	rc   io.Reader // the body http.ReadResponse made; fills resp.Trailer at EOF
	keep bool

	mu      sync.Mutex
	reading bool
	done    bool  // c was released: rc must not be touched again
	closed  bool  // Close was called
	err     error // returned by reads once done
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done || b.closed {
		err := b.err
		if err == nil {
			err = ErrBodyClosed
		}
		b.mu.Unlock()
		return 0, err
	}
	b.reading = true
	ctx := b.c.ctx
	b.mu.Unlock()

	n, err := b.rc.Read(p)

	b.mu.Lock()
	defer b.mu.Unlock()
	b.reading = false
	switch {
	case b.closed:
		b.finish(false, ErrBodyClosed)
		return n, ErrBodyClosed
	case err == nil:
	case err == io.EOF:
		b.finish(b.keep, io.EOF)
	default:
		err = b.readError(ctx, err)
		b.finish(false, err)
	}
	return n, err
}

// readError names what went wrong while reading the body.
func (b *bodyReader) readError(ctx context.Context, err error) error {
	if e := ctxErr(ctx); e != nil {
		return e
	}
	return fmt.Errorf("upstream: reading response body from %s: %w", b.c.p.addr, err)
}

// finish releases the connection once; b.mu is held.
func (b *bodyReader) finish(reuse bool, err error) {
	if b.done {
		return
	}
	b.done = true
	b.err = err
	b.c.release(reuse)
}

// Close closes the connection unless the body was read to the end.
func (b *bodyReader) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	switch {
	case b.done:
	case b.reading:
		b.c.nc.Close() // the Read returns and finishes
	default:
		b.finish(false, ErrBodyClosed)
	}
	return nil
}

// upgradeBody is the body of a 101 response: the raw connection, readable
// (bytes the backend sent after the head first) and writable, as
// httputil.ReverseProxy expects. The connection left the pool; Close closes
// it.
type upgradeBody struct {
	c    *conn
	once sync.Once
}

func (u *upgradeBody) Read(p []byte) (int, error)  { return u.c.br.Read(p) }
func (u *upgradeBody) Write(p []byte) (int, error) { return u.c.nc.Write(p) }

func (u *upgradeBody) Close() error {
	var err error
	u.once.Do(func() {
		err = u.c.nc.Close()
		u.c.p.t.closed.Add(1)
	})
	return err
}
