package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds the config file a loader will read.
const MaxFileSize = 4 << 20

// Default returns the configuration used for every key a file omits.
func Default() *Config {
	return &Config{
		Listen: ":8080",
		Admin:  Admin{Listen: "127.0.0.1:9901"},
		Server: Server{
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(120 * time.Second),
			IdleTimeout:       Duration(90 * time.Second),
			MaxHeaderBytes:    32 << 10,
			MaxBodyBytes:      10 << 20,
			ShutdownGrace:     Duration(30 * time.Second),
			EarlyRefusal:      true,
			BodyBuffer:        64 << 10,
			MinBodyRate:       ByteRate{Bytes: 1 << 10, Per: time.Second},
			Path:              PathNorm{Normalize: true, MergeSlashes: true, EscapedSlashes: "keep"},
			Upgrades:          []string{"websocket"},
			HTTP2:             DefaultHTTP2(),
		},
		ClientIP: ClientIP{Header: "X-Forwarded-For", IPv6Prefix: 64},
		Abuse: Abuse{
			MaxTrackedClients: 100_000,
			Ban: Ban{
				Within:      Duration(time.Minute),
				Duration:    Duration(time.Minute),
				MaxDuration: Duration(time.Hour),
			},
			AuthFailures: AuthFailures{
				Statuses: []int{401, 403},
				Within:   Duration(10 * time.Minute),
			},
			Overload:       Overload{MaxQueueWait: Duration(50 * time.Millisecond)},
			NewClientShare: 0.3,
			Reputation:     Reputation{KnownAfterGood: 20, KnownAfterAge: Duration(time.Minute)},
			Attack:         Attack{MinNewPerSecond: 50, Factor: 4, Calm: Duration(10 * time.Second)},
			Token:          tokenDefaults(),
			Challenge:      challengeDefaults(),
		},
		Health: Health{CacheTTL: Duration(time.Second), Timeout: Duration(3 * time.Second), Details: "public"},
		Stats: Stats{
			Statsd:     Statsd{Prefix: "bulwark", FlushInterval: Duration(100 * time.Millisecond)},
			Prometheus: Prometheus{Enabled: true},
		},
		Log: Log{Level: "info", Format: "json", Access: true,
			Sample:      LogSample{Initial: 100, Thereafter: 100},
			RedactQuery: DefaultRedactQuery()},
		lines: map[string]int{},
	}
}

func (b *Backend) setDefaults() {
	b.Balance = "round_robin"
	b.ConnectTimeout = Duration(2 * time.Second)
	b.ResponseTimeout = Duration(30 * time.Second)
	b.Retries = 1
	b.Transport = "fast"
	b.Health = Check{
		Interval: Duration(5 * time.Second),
		Timeout:  Duration(2 * time.Second),
		Rise:     2,
		Fall:     3,
	}
	b.Breaker = Breaker{
		ConsecutiveFailures: 5,
		FailureRatio:        0.5,
		MinRequests:         20,
		Window:              Duration(10 * time.Second),
		OpenFor:             Duration(5 * time.Second),
		HalfOpenRequests:    1,
	}
}

func (p *PerNetwork) setDefaults() { p.IPv4Prefix, p.IPv6Prefix = 24, 48 }

func (p *LimitPolicy) setDefaults() { p.MaxInspectBytes = DefaultMaxInspectBytes }

func (s *LimitStore) setDefaults() {
	s.OnError = "local"
	s.Mode = "exact"
	s.Timeout = Duration(50 * time.Millisecond)
}

// LoadFile reads and validates a config file.
func LoadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return load(data, filepath.Dir(path))
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load parses, fills defaults and validates a config file's bytes. A returned
// error is an Errors value listing every problem, or a syntax error.
func Load(data []byte) (*Config, error) { return load(data, "") }

// load is Load for a file in dir ("" for none): relative paths in the
// file (admin.tokens[].token_file) are read from dir.
func load(data []byte, dir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, Errors{{Path: "(syntax)", Line: problemLine(data, line, m[2]), Msg: syntaxHint(m[2])}}
		}
		return nil, Errors{{Path: "(syntax)", Msg: err.Error()}}
	}
	c := Default()
	d := &decoder{lines: c.lines}
	if root.Kind != 0 {
		d.decode(&root, reflect.ValueOf(c).Elem(), "")
	}
	// A field that failed to decode keeps its default, so validating the
	// rest still finds every other problem in one pass.
	c.normalize()
	c.resolveTLSPaths(dir)
	errs := append(d.errs, c.readTokenFiles(dir)...)
	errs = append(errs, c.readKeySecret(dir)...)
	errs = append(errs, withoutPaths(c.Validate(), d.errs)...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	return c, nil
}

// withoutPaths drops the errors about paths that already have one in
// reported: a value that failed to decode is not also "required".
func withoutPaths(errs, reported Errors) Errors {
	bad := make(map[string]bool, len(reported))
	for _, e := range reported {
		bad[e.Path] = true
	}
	out := errs[:0]
	for _, e := range errs {
		if !bad[e.Path] {
			out = append(out, e)
		}
	}
	return out
}

// normalize fills defaults that depend on other fields.
func (c *Config) normalize() {
	for _, p := range c.Limits {
		if p.Burst == 0 {
			p.Burst = max(1, int(p.Rate.PerSecond()+0.999))
		}
		if n := p.PerNetwork; n != nil && n.Burst == 0 {
			n.Burst = max(1, int(n.Rate.PerSecond()+0.999))
		}
	}
	for _, b := range c.Backends {
		if b.Queue.MaxLen > 0 && b.Queue.MaxWait == 0 {
			b.Queue.MaxWait = Duration(100 * time.Millisecond)
		}
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Limit == "" {
			if _, ok := c.Limits["default"]; ok {
				r.Limit = "default"
			}
		}
		if r.Stats.Name == "" {
			r.Stats.Name = "route" + strconv.Itoa(i)
		}
	}
}
