package router

import (
	"net/netip"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// Behind a trusted proxy one HTTP/2 connection carries many clients: a
// stream's fault (its reset) is its own client's, named by the stream's
// forwarded field. x/net/http2 does not say which stream a request came
// on, so on a trusted peer's connection the guard decodes the header
// blocks itself (a second HPACK decoder kept in step with the server's,
// keeping the forwarded field only) and remembers each open stream's
// client. Connections from other peers skip all of it: their client is
// the peer.

// maxTrackedStreams bounds the streams whose clients a connection keeps;
// past it the oldest are forgotten (their resets go to no one).
const maxTrackedStreams = 1024

// h2Streams is a trusted peer's connection's view of its streams.
type h2Streams struct {
	field   string // the forwarded field, lower case (HTTP/2 names are)
	dec     *hpack.Decoder
	fwd     []string // the block's forwarded values, while decoding
	block   []byte   // the header block being read
	headers bool     // the frame being read is HEADERS or CONTINUATION
	pad     bool     // HEADERS flags: PADDED, PRIORITY
	prio    bool
	stream  uint32                // the block's stream
	clients map[uint32]netip.Addr // open streams' clients
	order   []uint32              // their ids, oldest first
	resets  map[netip.Addr]int    // resets per client, this connection
	resolve func(fwd []string) netip.Addr
}

// newH2Streams follows the streams of a connection whose forwarded field
// is field; resolve is the client a stream's forwarded chain names.
func newH2Streams(field string, resolve func(fwd []string) netip.Addr) *h2Streams {
	s := &h2Streams{field: strings.ToLower(field), clients: map[uint32]netip.Addr{}, resets: map[netip.Addr]int{},
		resolve: resolve}
	s.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == s.field {
			s.fwd = append(s.fwd, f.Value)
		}
	})
	return s
}

// frame notes a frame header: HEADERS and CONTINUATION payloads are
// collected (payload), RST_STREAM is counted against its stream's client.
func (s *h2Streams) frame(typ, flags byte, stream uint32) {
	s.headers = false
	switch typ {
	case frameHeaders:
		s.headers, s.block, s.stream = true, s.block[:0], stream
		s.pad, s.prio = flags&0x8 != 0, flags&0x20 != 0
	case frameContinuation:
		s.headers = stream == s.stream
	case frameRSTStream:
		if c, ok := s.clients[stream]; ok {
			s.resets[c]++
			delete(s.clients, stream)
		}
	}
}

// payload collects b, bytes of the current frame's payload.
func (s *h2Streams) payload(b []byte) {
	if s.headers {
		s.block = append(s.block, b...)
	}
}

// end is the end of the current frame, of type typ with flags.
func (s *h2Streams) end(typ, flags byte) {
	if !s.headers {
		return
	}
	if typ == frameHeaders {
		b := s.block
		padLen := 0
		if s.pad && len(b) > 0 {
			padLen, b = int(b[0]), b[1:]
		}
		if s.prio {
			b = b[min(5, len(b)):]
		}
		s.block = b[:max(len(b)-padLen, 0)]
	}
	if flags&flagEndHeaders == 0 {
		return
	}
	s.fwd = s.fwd[:0]
	if _, err := s.dec.Write(s.block); err != nil {
		return // x/net/http2 closes the connection for it
	}
	s.remember(s.stream, s.fwd)
}

// remember keeps the client the stream's forwarded chain names.
func (s *h2Streams) remember(stream uint32, fwd []string) {
	if len(fwd) == 0 {
		return
	}
	s.clients[stream] = s.resolve(fwd)
	s.order = append(s.order, stream)
	if len(s.order) > maxTrackedStreams {
		delete(s.clients, s.order[0])
		s.order = s.order[1:]
	}
}

// worst is the client with the most resets on this connection, if any.
func (s *h2Streams) worst() (netip.Addr, bool) {
	var top netip.Addr
	n := 0
	for c, k := range s.resets {
		if k > n {
			top, n = c, k
		}
	}
	return top, n > 0
}
