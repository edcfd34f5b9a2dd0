package upstream

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A request body larger than the sockets hold, to a backend that starts
// reading it late: the connection's raw writes wait on the poller while
// the socket is full (spending nothing meanwhile) and the backend gets
// every byte.
func TestLargeBodyToALateReader(t *testing.T) {
	const n = 32 << 20
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(400 * time.Millisecond)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i, c := range b {
			if c != byte(i%251) {
				http.Error(w, fmt.Sprintf("byte %d is %d", i, c), http.StatusBadRequest)
				return
			}
		}
		io.WriteString(w, strconv.Itoa(len(b)))
	})
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(i % 251)
	}
	tr := newTransport(t, Options{})
	req, _ := http.NewRequest("POST", be.URL, bytes.NewReader(body))
	done := make(chan struct{})
	var spent time.Duration
	go func() {
		defer close(done)
		time.Sleep(100 * time.Millisecond) // the sockets are full by now
		cpu := cpuTime()
		time.Sleep(250 * time.Millisecond)
		spent = cpuTime() - cpu
	}()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp)
	<-done
	if resp.StatusCode != 200 || got != strconv.Itoa(n) {
		t.Fatalf("%d %q", resp.StatusCode, got)
	}
	if spent > 125*time.Millisecond {
		t.Errorf("%v of CPU in 250ms while the backend read nothing", spent)
	}
}
