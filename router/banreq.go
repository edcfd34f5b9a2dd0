package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of a POST /admin/api/bans request.
const (
	maxBanBody   = 4 << 10
	maxBanReason = 200 // characters
	// maxBanCap bounds a ban whatever abuse.ban.max_duration says, so the
	// end stays far from the time base's overflow.
	maxBanCap = 366 * 24 * time.Hour
)

// banRequest is a validated POST /admin/api/bans body.
type banRequest struct {
	client   netip.Addr // a table key's address
	duration time.Duration
	reason   string
}

// parseBanRequest reads and validates r's JSON body.
func parseBanRequest(r *http.Request, v6bits int, maxBan time.Duration) (banRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBanBody+1))
	if err != nil {
		return banRequest{}, fmt.Errorf("reading the body: %v", err)
	}
	if len(body) > maxBanBody {
		return banRequest{}, fmt.Errorf("body over %d bytes", maxBanBody)
	}
	return decodeBanRequest(body, v6bits, maxBan)
}

// decodeBanRequest validates a POST /admin/api/bans body:
// {"client": IP, "duration": "10m", "reason": "..."}, nothing else. client
// is parsed as the DELETE's ?client= is; duration is a Go duration greater
// than 0 and at most maxBan (0: no bound but maxBanCap); reason is
// optional, at most maxBanReason printable characters.
func decodeBanRequest(body []byte, v6bits int, maxBan time.Duration) (banRequest, error) {
	var in struct {
		Client   *string `json:"client"`
		Duration *string `json:"duration"`
		Reason   string  `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return banRequest{}, fmt.Errorf("invalid JSON body (want {\"client\": IP, \"duration\": \"10m\", \"reason\": TEXT}): %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return banRequest{}, errors.New("invalid JSON body: more than one value")
	}
	if in.Client == nil {
		return banRequest{}, errors.New("client is required (an IP address)")
	}
	client, err := parseClient(*in.Client, v6bits)
	if err != nil {
		return banRequest{}, err
	}
	if in.Duration == nil {
		return banRequest{}, errors.New(`duration is required (a Go duration, e.g. "10m" or "1h")`)
	}
	s := strings.TrimSpace(*in.Duration)
	d, err := time.ParseDuration(s)
	if err != nil {
		return banRequest{}, fmt.Errorf(`invalid duration %q (want a Go duration, e.g. "10m" or "1h")`, truncateText(s, 32))
	}
	if d <= 0 {
		return banRequest{}, fmt.Errorf("duration %s must be greater than 0", d)
	}
	if maxBan > 0 && d > maxBan {
		return banRequest{}, fmt.Errorf("duration %s is over abuse.ban.max_duration (%s)", d, maxBan)
	}
	if d > maxBanCap {
		return banRequest{}, fmt.Errorf("duration %s is over %s", d, maxBanCap)
	}
	if n := utf8.RuneCountInString(in.Reason); n > maxBanReason {
		return banRequest{}, fmt.Errorf("reason has %d characters, at most %d are allowed", n, maxBanReason)
	}
	if !utf8.ValidString(in.Reason) || strings.IndexFunc(in.Reason, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return banRequest{}, errors.New("reason must be printable text (no control characters)")
	}
	return banRequest{client: client, duration: d, reason: in.Reason}, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
