package ratelimit

import (
	"net/http"
	"strconv"
	"time"
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
	s := max(ceilSeconds(int64(d)), 1)
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
	b = strconv.AppendInt(b, ceilSeconds(int64(d.Reset)), 10)
	h["Ratelimit-Policy"] = pol
	h["Ratelimit"] = []string{string(b)}
}
