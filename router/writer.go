package router

import (
	"net/http"
)

// responseWriter records the status and the bytes written. It implements
// Unwrap so http.ResponseController can flush, hijack and set deadlines
// through it.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *responseWriter) reset(rw http.ResponseWriter) {
	*w = responseWriter{ResponseWriter: rw}
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 || w.status < 200 {
		if code >= 200 || code == http.StatusSwitchingProtocols {
			w.status = code
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush lets ReverseProxy flush event streams through the wrapper.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status the client got (200 when the handler wrote nothing).
func (w *responseWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// countingBody counts the request bytes read by the proxy.
type countingBody struct {
	rc interface {
		Read([]byte) (int, error)
		Close() error
	}
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
