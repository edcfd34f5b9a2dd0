package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
backends:
  app: {targets: ["http://127.0.0.1:9000"]}
routes:
  - backend: app
`

func TestLoadDefaults(t *testing.T) {
	c, err := Load([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Backends["app"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, ":8080"},
		{"admin.listen", c.Admin.Listen, "127.0.0.1:9901"},
		{"server.read_header_timeout", c.Server.ReadHeaderTimeout.D(), 10 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, Size(10 << 20)},
		{"server.body_buffer", c.Server.BodyBuffer, Size(64 << 10)},
		{"server.min_body_rate", c.Server.MinBodyRate.PerSecond(), 1024.0},
		{"client_ip.header", c.ClientIP.Header, "X-Forwarded-For"},
		{"client_ip.ipv6_prefix", c.ClientIP.IPv6Prefix, 64},
		{"backends.app.balance", b.Balance, "round_robin"},
		{"backends.app.retries", b.Retries, 1},
		{"backends.app.breaker.open_for", b.Breaker.OpenFor.D(), 5 * time.Second},
		{"routes[0].stats.name", c.Routes[0].Stats.Name, "route0"},
		{"stats.statsd.prefix", c.Stats.Statsd.Prefix, "bulwark"},
		{"abuse.new_client_share", c.Abuse.NewClientShare, 0.3},
		{"abuse.reputation.known_after_good", c.Abuse.Reputation.KnownAfterGood, 20},
		{"abuse.attack.calm", c.Abuse.Attack.Calm.D(), 10 * time.Second},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadExplicitZeroIsKept(t *testing.T) {
	c, err := Load([]byte(minimal + "abuse: {new_client_share: 0}\nserver: {body_buffer: 0, min_body_rate: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Abuse.NewClientShare != 0 {
		t.Fatalf("explicit 0 replaced by %v", c.Abuse.NewClientShare)
	}
	if c.Server.BodyBuffer != 0 || !c.Server.MinBodyRate.IsZero() {
		t.Fatalf("explicit 0 replaced: body_buffer %v, min_body_rate %v", c.Server.BodyBuffer, c.Server.MinBodyRate)
	}
}

func TestLoadReportsEveryProblemWithLine(t *testing.T) {
	src := `listen: ":8080"
backends:
  verifier:
    targets: ["http://127.0.0.1:9001"]
    balance: random
    connect_timeout: 5x
  app:
    targets: []
routes:
  - match: {path: verify}
    backend: verfier
  - backend: app
    limit: strict
    colour: blue
limits:
  default: {rate: 20}
server:
  max_body_bytes: -3
  body_buffer: 1GiB
  min_body_rate: 1KiB
`
	_, err := Load([]byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`backends.verifier.balance: unknown policy "random" (want round_robin, least_requests or p2c) (line 5)`,
		`backends.verifier.connect_timeout: invalid duration "5x" (want e.g. 250ms, 5s, 1m) (line 6)`,
		`backends.app.targets: at least one target is required (line 8)`,
		`routes[0].match.path: must start with / (line 10)`,
		`routes[0].backend: unknown backend "verfier" (did you mean "verifier"?) (line 11)`,
		`routes[1].limit: unknown limit policy "strict" (line 13)`,
		`routes[1].colour: unknown key (known: abuse, backend, headers, inspect_body, limit, match, rewrite_prefix, stats, strip_prefix, timeouts) (line 14)`,
		`limits.default.rate: invalid rate "20" (want N/s, N/m or N/h, e.g. 20/s) (line 16)`,
		`server.max_body_bytes: invalid size "-3" (want e.g. 512, 16KiB, 1MiB) (line 18)`,
		`server.body_buffer: must be between 0 and 16MiB (line 19)`,
		`server.min_body_rate: invalid byte rate "1KiB" (want e.g. 1KiB/s, or 0 for none) (line 20)`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

func TestLoadSyntaxError(t *testing.T) {
	_, err := Load([]byte("backends:\n  app: [\n"))
	if err == nil || !strings.Contains(err.Error(), "(syntax)") || !strings.Contains(err.Error(), "line") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRejectsDuplicateKeys(t *testing.T) {
	_, err := Load([]byte(minimal + "listen: :1\nlisten: :2\n"))
	if err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("got %v", err)
	}
}

func TestAdminTokenRequiredOffLoopback(t *testing.T) {
	_, err := Load([]byte(minimal + "admin: {listen: '0.0.0.0:9901'}\n"))
	if err == nil || !strings.Contains(err.Error(), "admin.token") {
		t.Fatalf("got %v", err)
	}
	if _, err := Load([]byte(minimal + "admin: {listen: '0.0.0.0:9901', token: s3cret}\n")); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.yaml")
	os.WriteFile(p, []byte(minimal), 0o600)
	if _, err := LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(p + ".missing"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("listen: [1]\nbackends: {a: {targets: [x]}}\n"))
	f.Add([]byte("routes: [{match: {paths: [/a]}, backend: b, limit: l}]\nlimits: {l: {rate: 1/s, per_network: {rate: 5/m}}}\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Add([]byte("backends:\n  app:\n    targets: [x]\n   balance: p2c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func TestReputationAndAttackBounds(t *testing.T) {
	_, err := Load([]byte(minimal + "abuse: {reputation: {known_after_good: 300}, attack: {factor: 0.5, calm: 0s}}\n"))
	for _, w := range []string{"abuse.reputation.known_after_good", "abuse.attack.factor", "abuse.attack.calm"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("missing %s in %v", w, err)
		}
	}
}

func TestServerUpgrades(t *testing.T) {
	c, err := Load([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Server.Upgrades, ","); got != "websocket" {
		t.Errorf("server.upgrades = %q by default, want websocket", got)
	}
	c, err = Load([]byte(minimal + "server: {upgrades: []}\n"))
	if err != nil || len(c.Server.Upgrades) != 0 {
		t.Fatalf("an empty list: %v, %v; want none allowed", c.Server.Upgrades, err)
	}
	_, err = Load([]byte(minimal + "server:\n  upgrades:\n    - websocket\n    - H2C\n    - web socket\n    - websocket/13\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		`server.upgrades[1]: h2c is never tunnelled (an upgrade to HTTP/2 is not a tunnel) (line 9)`,
		`server.upgrades[2]: invalid protocol name "web socket" (want a token such as websocket) (line 10)`,
		`server.upgrades[3]: invalid protocol name "websocket/13" (want a token such as websocket) (line 11)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "upgrades[0]") {
		t.Errorf("websocket refused:\n%v", err)
	}
}
