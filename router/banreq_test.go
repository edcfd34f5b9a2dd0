package router

import (
	"net/netip"
	"testing"
	"time"
)

func TestDecodeBanRequest(t *testing.T) {
	tests := []struct {
		give    string
		maxBan  time.Duration
		want    banRequest
		wantErr bool
	}{
		{`{"client":"192.0.2.1","duration":"90s","reason":"r"}`, time.Hour,
			banRequest{netip.MustParseAddr("192.0.2.1"), 90 * time.Second, "r"}, false},
		{`{"client":"2001:db8::7","duration":" 1h "}`, time.Hour,
			banRequest{netip.MustParseAddr("2001:db8::"), time.Hour, ""}, false},
		{`{"client":"192.0.2.1","duration":"2h"}`, 0, banRequest{netip.MustParseAddr("192.0.2.1"), 2 * time.Hour, ""}, false},
		{`{"client":"192.0.2.1","duration":"9000h"}`, 0, banRequest{}, true},
		{`{"client":"192.0.2.1","duration":"0s"}`, 0, banRequest{}, true},
		{`{"client":null,"duration":"1m"}`, 0, banRequest{}, true},
		{`[]`, 0, banRequest{}, true},
		{`null`, 0, banRequest{}, true},
	}
	for _, tt := range tests {
		got, err := decodeBanRequest([]byte(tt.give), 64, tt.maxBan)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("decodeBanRequest(%s) = %+v, %v; want %+v, err %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzDecodeBanRequest(f *testing.F) {
	for _, s := range []string{
		`{"client":"192.0.2.1","duration":"90s","reason":"r"}`,
		`{"client":"2001:db8::/64","duration":"1h"}`,
		`{"client":"192.0.2.1","duration":"1h","reason":"\u0000"}`,
		`{"client":1}`, `{}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeBanRequest(body, 64, time.Hour)
		if err != nil {
			return
		}
		if !r.client.IsValid() || r.duration <= 0 || r.duration > time.Hour || len([]rune(r.reason)) > maxBanReason {
			t.Fatalf("decodeBanRequest(%q) = %+v", body, r)
		}
	})
}
