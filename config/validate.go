package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Validate returns every problem in c, sorted by line. It is called by Load;
// callers that build a Config by hand may call it themselves.
func (c *Config) Validate() Errors {
	v := &validator{c: c}
	v.listeners()
	v.server()
	v.tls()
	v.clientIP()
	v.backends()
	v.routes()
	v.limits()
	v.rules()
	v.limitKeys()
	v.inspectBodies()
	v.abuse()
	v.misc()
	sortErrors(v.errs)
	return v.errs
}

// sortErrors orders errors by line; errors without a line go last.
func sortErrors(errs Errors) {
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}

type validator struct {
	c    *Config
	errs Errors
}

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Line: v.c.Line(path), Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) hostPort(path, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		v.fail(path, "invalid address %q (want host:port or :port)", addr)
	}
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.fail(path, "must be greater than 0")
	}
}

func (v *validator) listeners() {
	c := v.c
	v.adminTokens()
	if c.Listen == "" {
		v.fail("listen", "required")
	} else {
		v.hostPort("listen", c.Listen)
	}
	if c.Admin.Listen != "" {
		v.hostPort("admin.listen", c.Admin.Listen)
		if !IsLoopbackAddr(c.Admin.Listen) && c.Admin.Token == "" && len(c.Admin.Tokens) == 0 {
			v.fail("admin.token", "required when admin.listen (%q) is not a loopback address", c.Admin.Listen)
		}
		if c.Admin.Listen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
			v.fail("admin.listen", "must differ from listen")
		}
	}
}

// IsLoopbackAddr reports whether a listen address binds only loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (v *validator) server() {
	s := v.c.Server
	v.positive("server.read_header_timeout", s.ReadHeaderTimeout)
	v.positive("server.read_timeout", s.ReadTimeout)
	v.positive("server.write_timeout", s.WriteTimeout)
	v.positive("server.idle_timeout", s.IdleTimeout)
	v.positive("server.shutdown_grace", s.ShutdownGrace)
	if s.MaxHeaderBytes < 1024 {
		v.fail("server.max_header_bytes", "must be at least 1KiB")
	}
	if s.MaxBodyBytes <= 0 {
		v.fail("server.max_body_bytes", "must be greater than 0")
	}
	if s.BodyBuffer < 0 || s.BodyBuffer > MaxBodyBuffer {
		v.fail("server.body_buffer", "must be between 0 and %v", Size(MaxBodyBuffer))
	}
	if r := s.MinBodyRate; !r.IsZero() && r.PerSecond() < 1 {
		v.fail("server.min_body_rate", "must be at least 1B/s, or 0 to turn the check off")
	}
	switch s.Path.EscapedSlashes {
	case "keep", "unescape", "reject":
	default:
		v.fail("server.path.escaped_slashes", "unknown value %q (want keep, unescape or reject)", s.Path.EscapedSlashes)
	}
	for i, p := range s.Upgrades {
		path := fmt.Sprintf("server.upgrades[%d]", i)
		switch {
		case !IsToken(p):
			v.fail(path, "invalid protocol name %q (want a token such as websocket)", p)
		case strings.EqualFold(p, "h2c"):
			v.fail(path, "h2c is never tunnelled (an upgrade to HTTP/2 is not a tunnel)")
		}
	}
}

// IsToken reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// MaxBodyBuffer bounds server.body_buffer: a request's buffered body is
// held in memory until it is forwarded.
const MaxBodyBuffer = 16 << 20

func (v *validator) cidrs(path string, list []string) {
	for i, s := range list {
		if _, err := ParsePrefix(s); err != nil {
			v.fail(fmt.Sprintf("%s[%d]", path, i), "%v", err)
		}
	}
}

// ParsePrefix parses a CIDR or a single address (taken as /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address or CIDR %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+$`)

func (v *validator) clientIP() {
	ci := v.c.ClientIP
	v.cidrs("client_ip.trusted_proxies", ci.TrustedProxies)
	if !headerName.MatchString(ci.Header) {
		v.fail("client_ip.header", "invalid header name %q", ci.Header)
	}
	if ci.IPv6Prefix < 1 || ci.IPv6Prefix > 128 {
		v.fail("client_ip.ipv6_prefix", "must be between 1 and 128")
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// BackendNames returns the backend names in sorted order.
func (c *Config) BackendNames() []string {
	names := make([]string, 0, len(c.Backends))
	for n := range c.Backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var (
	methodRE   = regexp.MustCompile(`^[A-Z]{1,20}$`)
	statNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

func (v *validator) limits() {
	c := v.c
	for _, name := range sortedKeys(c.Limits) {
		l := c.Limits[name]
		p := "limits." + name
		if !nameRE.MatchString(name) || name == "none" {
			v.fail(p, "invalid policy name")
		}
		if l.Rate.IsZero() {
			v.fail(p+".rate", "required and greater than 0")
		}
		if l.Burst < 1 {
			v.fail(p+".burst", "must be at least 1")
		}
		if n := l.PerNetwork; n != nil {
			if n.IPv4Prefix < 1 || n.IPv4Prefix > 32 {
				v.fail(p+".per_network.ipv4_prefix", "must be between 1 and 32")
			}
			if n.IPv6Prefix < 1 || n.IPv6Prefix > 128 {
				v.fail(p+".per_network.ipv6_prefix", "must be between 1 and 128")
			}
			if n.Rate.IsZero() {
				v.fail(p+".per_network.rate", "required and greater than 0")
			}
			if n.Burst < 1 {
				v.fail(p+".per_network.burst", "must be at least 1")
			}
		}
	}
	if s := c.LimitStore; s != nil {
		v.limitStore(s)
		switch s.OnError {
		case "local", "allow", "deny":
		default:
			v.fail("limit_store.on_error", "unknown value %q (want local, allow or deny)", s.OnError)
		}
		v.positive("limit_store.timeout", s.Timeout)
	}
}

func (v *validator) abuse() {
	a := v.c.Abuse
	if a.MaxTrackedClients < 1000 {
		v.fail("abuse.max_tracked_clients", "must be at least 1000")
	}
	if a.MaxConnsPerClient < 0 {
		v.fail("abuse.max_conns_per_client", "must not be negative")
	}
	if a.MaxInFlightPerClient < 0 {
		v.fail("abuse.max_in_flight_per_client", "must not be negative")
	}
	if a.Ban.AfterRejections < 0 {
		v.fail("abuse.ban.after_rejections", "must not be negative")
	}
	if a.Ban.AfterRejections > 0 {
		v.positive("abuse.ban.within", a.Ban.Within)
		v.positive("abuse.ban.duration", a.Ban.Duration)
		if a.Ban.MaxDuration < a.Ban.Duration {
			v.fail("abuse.ban.max_duration", "must be at least abuse.ban.duration")
		}
	}
	if a.AuthFailures.Max < 0 {
		v.fail("abuse.auth_failures.max", "must not be negative")
	}
	if a.AuthFailures.Max > 0 {
		v.positive("abuse.auth_failures.within", a.AuthFailures.Within)
		if len(a.AuthFailures.Statuses) == 0 {
			v.fail("abuse.auth_failures.statuses", "at least one status is required")
		}
	}
	for i, st := range a.AuthFailures.Statuses {
		if st < 100 || st > 599 {
			v.fail(fmt.Sprintf("abuse.auth_failures.statuses[%d]", i), "invalid HTTP status %d", st)
		}
	}
	if a.Overload.MaxInFlight < 0 {
		v.fail("abuse.overload.max_in_flight", "must not be negative")
	}
	v.cidrs("abuse.allow", a.Allow)
	v.cidrs("abuse.deny", a.Deny)
	if a.NewClientShare < 0 || a.NewClientShare > 1 {
		v.fail("abuse.new_client_share", "must be between 0 and 1")
	}
	if g := a.Reputation.KnownAfterGood; g < 1 || g > 255 {
		v.fail("abuse.reputation.known_after_good", "must be between 1 and 255")
	}
	if a.Attack.MinNewPerSecond <= 0 {
		v.fail("abuse.attack.min_new_per_second", "must be greater than 0")
	}
	if a.Attack.Factor < 1 {
		v.fail("abuse.attack.factor", "must be at least 1")
	}
	v.positive("abuse.attack.calm", a.Attack.Calm)
	v.standing()
}

func (v *validator) misc() {
	c := v.c
	v.positive("health.cache_ttl", c.Health.CacheTTL)
	v.positive("health.timeout", c.Health.Timeout)
	if d := c.Health.Details; d != "public" && d != "summary" {
		v.fail("health.details", "unknown value %q%s (want public or summary)", d, suggest(d, []string{"public", "summary"}))
	}
	if s := c.Stats.Statsd; s.Address != "" {
		v.hostPort("stats.statsd.address", s.Address)
		v.positive("stats.statsd.flush_interval", s.FlushInterval)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`).MatchString(c.Stats.Statsd.Prefix) {
		v.fail("stats.statsd.prefix", "invalid prefix %q (want dot-separated [A-Za-z0-9_] segments)", c.Stats.Statsd.Prefix)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		v.fail("log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		v.fail("log.format", "unknown format %q (want json or console)", c.Log.Format)
	}
	for i, name := range c.Log.RedactQuery {
		if name == "" || strings.ContainsAny(name, "&=#") {
			v.fail(fmt.Sprintf("log.redact_query[%d]", i), "invalid parameter name %q (want a query parameter's name, e.g. token)", name)
		}
	}
	if c.Log.Sample.Initial < 0 || c.Log.Sample.Thereafter < 0 {
		v.fail("log.sample", "must not be negative")
	}
}
