package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		give    string
		want    Size
		wantErr bool
	}{
		{give: "0", want: 0},
		{give: "512", want: 512},
		{give: "512B", want: 512},
		{give: "16KiB", want: 16 << 10},
		{give: "10KB", want: 10_000},
		{give: "1MiB", want: 1 << 20},
		{give: " 2 GiB ", want: 2 << 30},
		{give: "", wantErr: true},
		{give: "-1", wantErr: true},
		{give: "1.5MiB", wantErr: true},
		{give: "10XB", wantErr: true},
		{give: "99999999999GiB", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, err=%v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		give    string
		perSec  float64
		wantErr bool
	}{
		{give: "20/s", perSec: 20},
		{give: "120/m", perSec: 2},
		{give: "3600/h", perSec: 1},
		{give: "0.5/s", perSec: 0.5},
		{give: "20", wantErr: true},
		{give: "20/d", wantErr: true},
		{give: "-1/s", wantErr: true},
		{give: "NaN/s", wantErr: true},
		{give: "x/s", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.give)
		if (err != nil) != tt.wantErr || got.PerSecond() != tt.perSec {
			t.Errorf("ParseRate(%q) = %v (%v/s), %v", tt.give, got, got.PerSecond(), err)
		}
	}
}

func TestParseByteRate(t *testing.T) {
	tests := []struct {
		give    string
		perSec  float64
		str     string
		wantErr bool
	}{
		{give: "1KiB/s", perSec: 1024, str: "1KiB/s"},
		{give: "512/s", perSec: 512, str: "512B/s"},
		{give: " 60KiB / m ", perSec: 1024, str: "60KiB/m"},
		{give: "36MB/h", perSec: 10_000, str: "36000000B/h"},
		{give: "0", perSec: 0, str: "0"},
		{give: "0/s", perSec: 0, str: "0"},
		{give: "1KiB", wantErr: true},
		{give: "1KiB/d", wantErr: true},
		{give: "-1/s", wantErr: true},
		{give: "1.5KiB/s", wantErr: true},
		{give: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseByteRate(tt.give)
		if (err != nil) != tt.wantErr || got.PerSecond() != tt.perSec || err == nil && got.String() != tt.str {
			t.Errorf("ParseByteRate(%q) = %v (%v/s), %v; want %v/s %q, err=%v",
				tt.give, got, got.PerSecond(), err, tt.perSec, tt.str, tt.wantErr)
		}
	}
}

func TestParseDuration(t *testing.T) {
	if d, err := ParseDuration("250ms"); err != nil || d.D() != 250*time.Millisecond {
		t.Fatalf("250ms: %v %v", d, err)
	}
	for _, bad := range []string{"", "5", "5x", "-1s"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "16KiB", "1MiB", "9223372036854775807", "1GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err == nil && v < 0 {
			t.Fatalf("negative size %d from %q", v, s)
		}
		if err == nil {
			if back, err := ParseSize(v.String()); err != nil || back != v {
				t.Fatalf("round trip %q -> %v -> %v %v", s, v, back, err)
			}
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"20/s", "1/m", "0.5/h", "1e9/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err == nil && (r.PerSecond() < 0 || r.Per <= 0) {
			t.Fatalf("bad rate %+v from %q", r, s)
		}
	})
}

func FuzzParseByteRate(f *testing.F) {
	for _, s := range []string{"1KiB/s", "0", "512/m", "9223372036854775807/h", "1GB/s", "/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseByteRate(s)
		if err != nil {
			return
		}
		if r.Bytes < 0 || r.PerSecond() < 0 || !r.IsZero() && r.Per <= 0 {
			t.Fatalf("bad byte rate %+v from %q", r, s)
		}
		if back, err := ParseByteRate(r.String()); err != nil || back != r {
			t.Fatalf("round trip %q -> %v -> %+v %v", s, r, back, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "250ms", "1h30m", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration from %q", s)
		}
	})
}
