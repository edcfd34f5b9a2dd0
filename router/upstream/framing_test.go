package upstream

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
	"testing"
)

var lengthSeeds = []struct {
	head       string
	both, seen bool
}{
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, true},
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, true},
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true, true},
	{"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 2\r\n\r\n", true, true},
	{"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 2\n\n", true, true},
	{"HTTP/1.1 200 OK\r\nX-Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", false, true},
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nContent-Length: 2\r\n\r\n", false, true},
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n", false, false},
	{"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 200) + "\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", false, false},
}

// TestLengthFields: a head with both framing fields is found, in any case
// and with bare LFs; one that doesn't fit in the buffer (or never ends) is
// not seen.
func TestLengthFields(t *testing.T) {
	for _, tt := range lengthSeeds {
		br := bufio.NewReaderSize(strings.NewReader(tt.head), 128)
		both, seen := lengthFields(br)
		if both != tt.both || seen != tt.seen {
			t.Errorf("%q: both %v seen %v, want %v %v", tt.head, both, seen, tt.both, tt.seen)
		}
		if br.Buffered() != min(len(tt.head), 128) {
			t.Errorf("%q: %d buffered: lengthFields must not consume", tt.head, br.Buffered())
		}
	}
}

// FuzzLengthFields: whenever textproto reads a head's fields, lengthFields
// finds both framing fields exactly when textproto does.
func FuzzLengthFields(f *testing.F) {
	for _, tt := range lengthSeeds {
		f.Add([]byte(tt.head))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		both, seen := lengthFields(bufio.NewReaderSize(bytes.NewReader(in), 4096))
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(in)))
		if _, err := tp.ReadLine(); err != nil {
			return
		}
		h, err := tp.ReadMIMEHeader()
		if err != nil || len(in) > 4096 {
			return
		}
		_, cl := h["Content-Length"]
		_, te := h["Transfer-Encoding"]
		if !seen || both != (cl && te) {
			t.Fatalf("both %v seen %v; textproto has Content-Length %v, Transfer-Encoding %v", both, seen, cl, te)
		}
	})
}
