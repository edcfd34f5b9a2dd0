package router

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

// Header values shared by every response. net/http only reads them; a
// handler that Adds to one of these keys appends to a full slice, which
// copies, so sharing is safe.
var (
	hdrTextPlain = []string{"text/plain; charset=utf-8"}
	hdrNosniff   = []string{"nosniff"}
	hdrNoStore   = []string{"no-store"}
	// hdrReasons are X-Bulwark-Reason's values, by stats.Reason.
	hdrReasons = func() (v [32][]string) {
		for i := range v {
			v[i] = []string{stats.Reason(i).String()}
		}
		return v
	}()
	retryAfter [601][]string // "0" .. "600"
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
	s := int64(retryAfterSeconds(d))
	if s < int64(len(retryAfter)) {
		return retryAfter[s]
	}
	return []string{strconv.FormatInt(s, 10)}
}

// writeRefusal writes the answer to a request admission refused: its
// status, a tiny text body, Retry-After (whole seconds, at least 1) for 429
// and 503, and for rate limits the RateLimit-Policy and RateLimit fields
// of draft-ietf-httpapi-ratelimit-headers. It writes nothing when the
// request was not refused (Status 0 or DryRun).
func writeRefusal(w http.ResponseWriter, d *ratelimit.Decision) {
	if d.Status == 0 || d.DryRun {
		return
	}
	h := w.Header()
	r := body403
	switch d.Status {
	case http.StatusTooManyRequests:
		r = body429
		h["Retry-After"] = retryAfterValue(d.RetryAfter)
		rateHeaders(h, d)
	case http.StatusServiceUnavailable:
		r = body503
		h["Retry-After"] = retryAfterValue(d.RetryAfter)
	}
	h["Content-Type"] = hdrTextPlain
	h["X-Content-Type-Options"] = hdrNosniff
	h["Cache-Control"] = hdrNoStore
	if int(d.Reason) < len(hdrReasons) {
		h["X-Bulwark-Reason"] = hdrReasons[d.Reason]
	}
	h["Content-Length"] = r.length
	w.WriteHeader(d.Status)
	w.Write(r.body)
}

// rateHeaders writes RateLimit-Policy (quota q = burst, window w = seconds
// to refill from empty) and RateLimit (r = requests left, t = seconds until
// the bucket is full again), when a limit policy decided d.
func rateHeaders(h http.Header, d *ratelimit.Decision) {
	pol, name := d.RateLimit()
	if pol == nil {
		return
	}
	rem := max(d.Remaining, 0)
	if d.Status != 0 {
		rem = 0
	}
	var buf [96]byte
	b := append(buf[:0], name...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(rem), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, wholeSeconds(d.Reset), 10)
	h["Ratelimit-Policy"] = pol
	h["Ratelimit"] = []string{string(b)}
}

// appendRefusal appends to b the whole HTTP/1.1 answer to a refused
// request: what writeRefusal writes through net/http, as bytes, with date
// (an IMF-fixdate) as its Date field, "Connection: close" when close is
// true, and no body when head is true (the answer to a HEAD request). It
// appends nothing when the request was not refused.
func appendRefusal(b []byte, d *ratelimit.Decision, date []byte, close, head bool) []byte {
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
		b = strconv.AppendInt(b, int64(retryAfterSeconds(d.RetryAfter)), 10)
		b = append(b, "\r\n"...)
	}
	if pol, name := d.RateLimit(); d.Status == http.StatusTooManyRequests && pol != nil {
		b = append(b, "Ratelimit-Policy: "...)
		b = append(b, pol[0]...)
		b = append(b, "\r\nRatelimit: "...)
		b = append(b, name...)
		b = append(b, ";r=0;t="...)
		b = strconv.AppendInt(b, wholeSeconds(d.Reset), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "X-Bulwark-Reason: "...)
	b = append(b, d.Reason.String()...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nContent-Length: "...)
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

// refusalBodyLen is the length of the body of d's answer, 0 when the
// request was not refused.
func refusalBodyLen(d *ratelimit.Decision) int {
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

// answers keeps refusals appendRefusal formatted, so that the next one
// with the same fields (the same status, policy, whole seconds of
// Retry-After and reset, Date, close and head) is sent from the same
// bytes: what clients turned away again and again are sent, from memory
// every connection shares and the cache keeps. The bytes it gives are
// never changed. The zero answers is empty; it is safe for concurrent use.
type answers struct {
	slots [answerSlots]atomic.Pointer[heldAnswer]
}

// answerSlots is how many different answers an answers holds at once.
const answerSlots = 16

type heldAnswer struct {
	key  answerKey
	b    []byte
	head int // where the head's last CRLF begins: where fields go in
}

type answerKey struct {
	status, retry, reset int64
	reason               stats.Reason
	policy               *string // the RateLimit-Policy value's array: one per policy
	name                 string  // the RateLimit bucket's name (the policy's or its network's)
	close, head          bool
	date                 *byte // the Date bytes' array: the caller's per-second cache
	dateLen              int
}

// bytes returns d's answer as appendRefusal formats it. date must be the
// same array for the same Date (a per-second cache), or a fresh one each
// time. The caller must not change the bytes.
func (a *answers) bytes(d *ratelimit.Decision, date []byte, close, head bool) []byte {
	if e := a.lookup(d, date, close, head); e != nil {
		return e.b
	}
	return nil
}

// appendWithID appends to dst the answer bytes gives with an X-Request-Id
// field holding id (which must be a valid field value) at the end of its
// head, so each refusal can carry its own id while the rest is shared.
// With room in dst it allocates nothing once the answer is formatted.
func (a *answers) appendWithID(dst []byte, d *ratelimit.Decision, date []byte, close, head bool, id []byte) []byte {
	e := a.lookup(d, date, close, head)
	if e == nil {
		return dst
	}
	dst = append(dst, e.b[:e.head]...)
	dst = append(dst, "\r\nX-Request-Id: "...)
	dst = append(dst, id...)
	return append(dst, e.b[e.head:]...)
}

func (a *answers) lookup(d *ratelimit.Decision, date []byte, close, head bool) *heldAnswer {
	if d.Status == 0 || d.DryRun {
		return nil
	}
	k := answerKey{
		status: int64(d.Status), reason: d.Reason, close: close, head: head,
		date: unsafe.SliceData(date), dateLen: len(date),
	}
	if d.Status == http.StatusTooManyRequests || d.Status == http.StatusServiceUnavailable {
		k.retry = int64(retryAfterSeconds(d.RetryAfter))
	}
	if pol, name := d.RateLimit(); d.Status == http.StatusTooManyRequests && pol != nil {
		k.reset = wholeSeconds(d.Reset)
		k.policy, k.name = unsafe.SliceData(pol), name
	}
	h := uint64(k.status) ^ uint64(k.reason)<<16 ^ uint64(k.retry)*0x9e3779b97f4a7c15 ^ uint64(k.reset)*0xc2b2ae3d27d4eb4f ^
		uint64(uintptr(unsafe.Pointer(k.policy)))>>4 ^ uint64(len(k.name))
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
	e := &heldAnswer{key: k, b: appendRefusal(nil, d, date, close, head)}
	e.head = bytes.Index(e.b, []byte("\r\n\r\n"))
	slot.Store(e)
	return e
}
