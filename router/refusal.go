package ratelimit

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

// Header values shared by every response. net/http only reads them; a
// handler that Adds to one of these keys appends to a full slice, which
// copies, so sharing is safe.
var (
	hdrTextPlain = []string{"text/plain; charset=utf-8"}
	hdrNosniff   = []string{"nosniff"}
	retryAfter   [601][]string // "0" .. "600"
)

// Refusal bodies: short, fixed, at most 64 bytes.
var (
	body403 = refusalBody("forbidden\n")
	body429 = refusalBody("too many requests\n")
	body503 = refusalBody("overloaded, retry later\n")
)

type refusal struct {
	body   []byte
	length []string
}

func refusalBody(s string) refusal {
	return refusal{body: []byte(s), length: []string{strconv.Itoa(len(s))}}
}

func init() {
	for i := range retryAfter {
		retryAfter[i] = []string{strconv.Itoa(i)}
	}
}

func retryAfterValue(d time.Duration) []string {
	s := max(nsToCeilSeconds(int64(d)), 1)
	if s < int64(len(retryAfter)) {
		return retryAfter[s]
	}
	return []string{strconv.FormatInt(s, 10)}
}

// WriteRefusal writes the answer to a refused request: its status, a tiny
// text body, Retry-After (whole seconds, at least 1) for 429 and 503, and
// for rate limits the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers. It writes nothing when the request
// was not refused (Status 0 or DryRun).
func (d *Decision) WriteRefusal(w http.ResponseWriter) {
	if d.Status == 0 || d.DryRun {
		return
	}
	h := w.Header()
	r := body403
	switch d.Status {
	case http.StatusTooManyRequests:
		r = body429
		h["Retry-After"] = retryAfterValue(d.RetryAfter)
		d.rateHeaders(h)
	case http.StatusServiceUnavailable:
		r = body503
		h["Retry-After"] = retryAfterValue(d.RetryAfter)
	}
	h["Content-Type"] = hdrTextPlain
	h["X-Content-Type-Options"] = hdrNosniff
	h["Content-Length"] = r.length
	w.WriteHeader(d.Status)
	w.Write(r.body)
}

// SetHeaders adds RateLimit-Policy and RateLimit to an admitted response,
// when a limit policy applied. Optional: the router may skip it.
func (d *Decision) SetHeaders(h http.Header) {
	d.rateHeaders(h)
}

// rateHeaders writes RateLimit-Policy (quota q = burst, window w = seconds
// to refill from empty) and RateLimit (r = requests left, t = seconds until
// the bucket is full again). A per-network refusal names the network bucket.
func (d *Decision) rateHeaders(h http.Header) {
	lp := d.lp
	if lp == nil {
		return
	}
	pol, name, rem := lp.hdrPolicy, lp.quoted, max(d.Remaining, 0)
	if lp.net != nil {
		pol = lp.hdrNetPolicy
	}
	if d.net {
		name = lp.netQuoted
	}
	if d.Status != 0 {
		rem = 0
	}
	var buf [96]byte
	b := append(buf[:0], name...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(rem), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, nsToCeilSeconds(int64(d.Reset)), 10)
	h["Ratelimit-Policy"] = pol
	h["Ratelimit"] = []string{string(b)}
}

// AppendResponse appends to b the whole HTTP/1.1 answer to a refused
// request: what WriteRefusal writes through net/http, as bytes, with date
// (an IMF-fixdate) as its Date field, "Connection: close" when close is
// true, and no body when head is true (the answer to a HEAD request). It
// appends nothing when the request was not refused.
func (d *Decision) AppendResponse(b, date []byte, close, head bool) []byte {
	if d.Status == 0 || d.DryRun {
		return b
	}
	r := body403
	switch d.Status {
	case http.StatusTooManyRequests:
		r = body429
		b = append(b, "HTTP/1.1 429 Too Many Requests\r\n"...)
	case http.StatusServiceUnavailable:
		r = body503
		b = append(b, "HTTP/1.1 503 Service Unavailable\r\n"...)
	default:
		b = append(b, "HTTP/1.1 "...)
		b = strconv.AppendInt(b, int64(d.Status), 10)
		b = append(b, ' ')
		b = append(b, http.StatusText(d.Status)...)
		b = append(b, "\r\n"...)
	}
	if d.Status == http.StatusTooManyRequests || d.Status == http.StatusServiceUnavailable {
		b = append(b, "Retry-After: "...)
		b = strconv.AppendInt(b, max(nsToCeilSeconds(int64(d.RetryAfter)), 1), 10)
		b = append(b, "\r\n"...)
	}
	if d.Status == http.StatusTooManyRequests && d.lp != nil {
		pol, name := d.lp.hdrPolicy[0], d.lp.quoted
		if d.lp.net != nil {
			pol = d.lp.hdrNetPolicy[0]
		}
		if d.net {
			name = d.lp.netQuoted
		}
		b = append(b, "Ratelimit-Policy: "...)
		b = append(b, pol...)
		b = append(b, "\r\nRatelimit: "...)
		b = append(b, name...)
		b = append(b, ";r=0;t="...)
		b = strconv.AppendInt(b, nsToCeilSeconds(int64(d.Reset)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: "...)
	b = append(b, r.length[0]...)
	b = append(b, "\r\nDate: "...)
	b = append(b, date...)
	if close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	if head {
		return b
	}
	return append(b, r.body...)
}

// BodyLen is the length of the body of the refusal's answer, 0 when the
// request was not refused.
func (d *Decision) BodyLen() int {
	switch {
	case d.Status == 0 || d.DryRun:
		return 0
	case d.Status == http.StatusTooManyRequests:
		return len(body429.body)
	case d.Status == http.StatusServiceUnavailable:
		return len(body503.body)
	}
	return len(body403.body)
}

// Answers keeps refusals AppendResponse formatted, so that the next one
// with the same fields (the same status, policy, whole seconds of
// Retry-After and reset, Date, close and head) is sent from the same
// bytes: what clients turned away again and again are sent, from memory
// every connection shares and the cache keeps. The bytes it gives are
// never changed. The zero Answers is empty; it is safe for concurrent use.
type Answers struct {
	slots [answerSlots]atomic.Pointer[answer]
}

// answerSlots is how many different answers Answers holds at once.
const answerSlots = 16

type answer struct {
	key  answerKey
	b    []byte
	head int // where the head's last CRLF begins: where fields go in
}

type answerKey struct {
	status, retry, reset int64
	lp                   *limitParams
	net, close, head     bool
	date                 *byte // the Date bytes' array: the caller's per-second cache
	dateLen              int
}

// Bytes returns d's answer as AppendResponse formats it. date must be the
// same array for the same Date (a per-second cache), or a fresh one each
// time. The caller must not change the bytes.
func (a *Answers) Bytes(d *Decision, date []byte, close, head bool) []byte {
	if e := a.lookup(d, date, close, head); e != nil {
		return e.b
	}
	return nil
}

// AppendWithID appends to dst the answer Bytes gives with an X-Request-Id
// field holding id (which must be a valid field value) at the end of its
// head, so each refusal can carry its own id while the rest is shared.
// With room in dst it allocates nothing once the answer is formatted.
func (a *Answers) AppendWithID(dst []byte, d *Decision, date []byte, close, head bool, id []byte) []byte {
	e := a.lookup(d, date, close, head)
	if e == nil {
		return dst
	}
	dst = append(dst, e.b[:e.head]...)
	dst = append(dst, "\r\nX-Request-Id: "...)
	dst = append(dst, id...)
	return append(dst, e.b[e.head:]...)
}

func (a *Answers) lookup(d *Decision, date []byte, close, head bool) *answer {
	if d.Status == 0 || d.DryRun {
		return nil
	}
	k := answerKey{
		status: int64(d.Status),
		lp:     d.lp, net: d.net, close: close, head: head,
		date: unsafe.SliceData(date), dateLen: len(date),
	}
	if d.Status == http.StatusTooManyRequests || d.Status == http.StatusServiceUnavailable {
		k.retry = max(nsToCeilSeconds(int64(d.RetryAfter)), 1)
	}
	if d.Status == http.StatusTooManyRequests && d.lp != nil {
		k.reset = nsToCeilSeconds(int64(d.Reset))
	}
	h := uint64(k.status) ^ uint64(k.retry)*0x9e3779b97f4a7c15 ^ uint64(k.reset)*0xc2b2ae3d27d4eb4f ^
		uint64(uintptr(unsafe.Pointer(k.lp)))>>4
	if k.close {
		h ^= 0x5bd1e995
	}
	if k.head {
		h ^= 0x27d4eb2f
	}
	slot := &a.slots[(h^h>>29)%answerSlots]
	if e := slot.Load(); e != nil && e.key == k {
		return e
	}
	e := &answer{key: k, b: d.AppendResponse(nil, date, close, head)}
	e.head = bytes.Index(e.b, []byte("\r\n\r\n"))
	slot.Store(e)
	return e
}
