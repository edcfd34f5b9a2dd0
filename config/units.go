package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("250ms", "5s").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes d back in its Go form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ParseDuration parses a Go duration string. Negative durations are rejected.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 250ms, 5s, 1m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return Duration(d), nil
}

// Size is a byte count written as "512", "16KiB", "1MiB", "10KB".
type Size int64

func (s Size) String() string {
	switch {
	case s >= 1<<30 && s%(1<<30) == 0:
		return strconv.FormatInt(int64(s)>>30, 10) + "GiB"
	case s >= 1<<20 && s%(1<<20) == 0:
		return strconv.FormatInt(int64(s)>>20, 10) + "MiB"
	case s >= 1<<10 && s%(1<<10) == 0:
		return strconv.FormatInt(int64(s)>>10, 10) + "KiB"
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalYAML writes s back in its unit form.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3},
	{"B", 1},
}

// ParseSize parses a size with an optional unit suffix (B, KB, KiB, MB, MiB, GB, GiB).
func ParseSize(s string) (Size, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty size")
	}
	num, mult := in, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(in, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(in, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 512, 16KiB, 1MiB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return Size(n * mult), nil
}

// Rate is an event rate written as "N/s", "N/m" or "N/h" (N may be fractional).
// The zero Rate means "no rate configured".
type Rate struct {
	// Count events are allowed per Per.
	Count float64
	Per   time.Duration
}

// PerSecond returns the rate in events per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return r.Count / r.Per.Seconds()
}

// IsZero reports whether no rate was configured.
func (r Rate) IsZero() bool { return r.Count == 0 }

func (r Rate) String() string {
	if r.Per == 0 {
		return "0/s"
	}
	return strconv.FormatFloat(r.Count, 'f', -1, 64) + "/" + perUnit(r.Per)
}

// MarshalYAML writes r back as "N/unit".
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }

// ParseRate parses "20/s", "100/m", "5/h", "0.5/s".
func ParseRate(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	num, unit, ok := strings.Cut(in, "/")
	if !ok {
		return Rate{}, badRate(s)
	}
	per := unitPer(unit)
	if per == 0 {
		return Rate{}, badRate(s)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || n > 1e9 {
		return Rate{}, badRate(s)
	}
	return Rate{Count: n, Per: per}, nil
}

// ByteRate is a transfer rate written as a size per second, minute or hour
// ("1KiB/s", "512/s", "60KiB/m"), or "0" for none. The zero ByteRate means
// none.
type ByteRate struct {
	// Bytes are transferred per Per.
	Bytes Size
	Per   time.Duration
}

// PerSecond returns the rate in bytes per second, 0 for none.
func (r ByteRate) PerSecond() float64 { return Rate{Count: float64(r.Bytes), Per: r.Per}.PerSecond() }

// IsZero reports whether the rate is none.
func (r ByteRate) IsZero() bool { return r.Bytes == 0 }

func (r ByteRate) String() string {
	if r.Bytes == 0 || r.Per == 0 {
		return "0"
	}
	return r.Bytes.String() + "/" + perUnit(r.Per)
}

// MarshalYAML writes r back as "SIZE/unit".
func (r ByteRate) MarshalYAML() (any, error) { return r.String(), nil }

// ParseByteRate parses "1KiB/s", "512B/s", "10MiB/m", "1GB/h", and "0"
// (none). The size takes ParseSize's units.
func ParseByteRate(s string) (ByteRate, error) {
	in := strings.TrimSpace(s)
	if in == "0" {
		return ByteRate{}, nil
	}
	num, unit, ok := strings.Cut(in, "/")
	if !ok {
		return ByteRate{}, fmt.Errorf("invalid byte rate %q (want e.g. 1KiB/s, or 0 for none)", s)
	}
	per := unitPer(unit)
	if per == 0 {
		return ByteRate{}, fmt.Errorf("invalid byte rate unit in %q (want s, m or h)", s)
	}
	n, err := ParseSize(num)
	if err != nil {
		return ByteRate{}, fmt.Errorf("invalid byte rate %q (want e.g. 1KiB/s, or 0 for none)", s)
	}
	if n == 0 {
		return ByteRate{}, nil
	}
	return ByteRate{Bytes: n, Per: per}, nil
}

// unitPer is the period a rate's unit ("s", "m" or "h", spaces around
// allowed) names, or 0 for another unit.
func unitPer(unit string) time.Duration {
	switch strings.TrimSpace(unit) {
	case "s":
		return time.Second
	case "m":
		return time.Minute
	case "h":
		return time.Hour
	}
	return 0
}

// perUnit is the unit a rate's period is written with: "m", "h", else "s".
func perUnit(per time.Duration) string {
	switch per {
	case time.Minute:
		return "m"
	case time.Hour:
		return "h"
	}
	return "s"
}

func badRate(s string) error {
	return fmt.Errorf("invalid rate %q (want N/s, N/m or N/h, e.g. 20/s)", s)
}
