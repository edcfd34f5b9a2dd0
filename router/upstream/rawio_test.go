package upstream

import (
	"bytes"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A request body larger than the sockets hold, to a backend that starts
// reading it only once the sockets are full: the connection's raw writes
// wait on the poller and the backend gets every byte.
func TestLargeBodyToALateReader(t *testing.T) {
	const n = 32 << 20
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(i % 251)
	}
	src := &countingReader{r: bytes.NewReader(body)}
	be := backend(t, func(w http.ResponseWriter, r *http.Request) {
		// The sockets between the transport and this handler are full when
		// the transport has stopped taking more of the body.
		last, still := int64(-1), 0
		testutil.WaitFor(t, 10*time.Second, func() bool {
			if n := int64(src.total()); n != last {
				last, still = n, 0
			} else {
				still++
			}
			return still >= 50
		}, "the transport never stopped sending")
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
	tr := newTransport(t, Options{})
	req, _ := http.NewRequest("POST", be.URL, src)
	req.ContentLength = n
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp)
	if resp.StatusCode != 200 || got != strconv.Itoa(n) {
		t.Fatalf("%d %q", resp.StatusCode, got)
	}
}
