package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
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
	v.clientIP()
	v.backends()
	v.routes()
	v.limits()
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

func (v *validator) backends() {
	c := v.c
	if len(c.Backends) == 0 {
		v.fail("backends", "at least one backend is required")
	}
	for _, name := range c.BackendNames() {
		b := c.Backends[name]
		p := "backends." + name
		if !nameRE.MatchString(name) {
			v.fail(p, "invalid backend name (want [A-Za-z0-9_.-], at most 64)")
		}
		v.targets(p+".targets", b.Targets)
		switch b.Balance {
		case "round_robin", "least_requests", "p2c":
		default:
			v.fail(p+".balance", "unknown policy %q (want round_robin, least_requests or p2c)", b.Balance)
		}
		switch b.Transport {
		case "fast", "standard":
		default:
			v.fail(p+".transport", "unknown transport %q (want fast or standard)", b.Transport)
		}
		v.positive(p+".connect_timeout", b.ConnectTimeout)
		v.positive(p+".response_timeout", b.ResponseTimeout)
		if b.MaxInFlight < 0 {
			v.fail(p+".max_in_flight", "must not be negative")
		}
		if b.Retries < 0 || b.Retries > 10 {
			v.fail(p+".retries", "must be between 0 and 10")
		}
		if b.Queue.MaxLen < 0 {
			v.fail(p+".queue.max_len", "must not be negative")
		}
		if b.Queue.MaxLen > 0 && b.MaxInFlight == 0 {
			v.fail(p+".queue", "needs max_in_flight")
		}
		h := b.Health
		if h.Path != "" {
			if !strings.HasPrefix(h.Path, "/") {
				v.fail(p+".health.path", "must start with /")
			}
			v.positive(p+".health.interval", h.Interval)
			v.positive(p+".health.timeout", h.Timeout)
			if h.Rise < 1 {
				v.fail(p+".health.rise", "must be at least 1")
			}
			if h.Fall < 1 {
				v.fail(p+".health.fall", "must be at least 1")
			}
		} else if h.Critical {
			v.fail(p+".health.critical", "needs health.path")
		}
		br := b.Breaker
		if !br.Disabled {
			if br.ConsecutiveFailures < 0 {
				v.fail(p+".breaker.consecutive_failures", "must not be negative")
			}
			if br.FailureRatio < 0 || br.FailureRatio > 1 {
				v.fail(p+".breaker.failure_ratio", "must be between 0 and 1")
			}
			if br.MinRequests < 1 {
				v.fail(p+".breaker.min_requests", "must be at least 1")
			}
			v.positive(p+".breaker.window", br.Window)
			v.positive(p+".breaker.open_for", br.OpenFor)
			if br.HalfOpenRequests < 1 {
				v.fail(p+".breaker.half_open_requests", "must be at least 1")
			}
		}
	}
}

// wantTarget is what a target looks like, for error messages.
const wantTarget = "(want http://HOST:PORT or https://HOST:PORT)"

// ParseTarget parses a backend target URL: http or https, a host, no query.
func ParseTarget(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		return nil, fmt.Errorf("invalid URL %q %s", s, wantTarget)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: scheme must be http or https %s", s, wantTarget)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("target %q: missing host %s", s, wantTarget)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("target %q: no query, fragment or user info allowed", s)
	}
	return u, nil
}

var (
	methodRE   = regexp.MustCompile(`^[A-Z]{1,20}$`)
	statNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

func (v *validator) routes() {
	c := v.c
	if len(c.Routes) == 0 {
		v.fail("routes", "at least one route is required")
	}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if r.Backend == "" {
			v.fail(p+".backend", "required")
		} else if _, ok := c.Backends[r.Backend]; !ok {
			v.fail(p+".backend", "unknown backend %q%s", r.Backend, suggest(r.Backend, c.BackendNames()))
		}
		m := r.Match
		if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
			v.fail(p+".match.path", "must start with /")
		} else if m.Path != "" {
			v.matchable(p+".match.path", m.Path, false)
		}
		if m.PathPrefix != "" && !strings.HasPrefix(m.PathPrefix, "/") {
			v.fail(p+".match.path_prefix", "must start with /")
		} else if m.PathPrefix != "" {
			v.matchable(p+".match.path_prefix", m.PathPrefix, true)
		}
		if m.Path != "" && len(m.Paths) > 0 {
			v.fail(p+".match", "use path or paths, not both")
		}
		for j, pp := range m.Paths {
			if !strings.HasPrefix(pp, "/") {
				v.fail(fmt.Sprintf("%s.match.paths[%d]", p, j), "must start with /")
			} else {
				v.matchable(fmt.Sprintf("%s.match.paths[%d]", p, j), pp, false)
			}
		}
		for j, meth := range m.Methods {
			if !methodRE.MatchString(meth) {
				v.fail(fmt.Sprintf("%s.match.methods[%d]", p, j), "invalid method %q (want upper case, e.g. GET)", meth)
			}
		}
		if strings.ContainsAny(m.Host, "/ ") {
			v.fail(p+".match.host", "invalid host %q", m.Host)
		}
		if r.Limit != "" && r.Limit != "none" {
			if _, ok := c.Limits[r.Limit]; !ok {
				v.fail(p+".limit", "unknown limit policy %q%s", r.Limit, suggest(r.Limit, append(sortedKeys(c.Limits), "none")))
			}
		}
		switch r.Abuse {
		case "", "auth":
		default:
			v.fail(p+".abuse", "unknown value %q (want auth)", r.Abuse)
		}
		if !statNameRE.MatchString(r.Stats.Name) {
			v.fail(p+".stats.name", "invalid name %q (want [A-Za-z0-9_]{1,64})", r.Stats.Name)
		}
		v.headerEdits(p+".headers.request", r.Headers.Request, true)
		v.headerEdits(p+".headers.response", r.Headers.Response, false)
		v.prefixes(p, r)
	}
}

// matchable fails a route path that no normalised request path can match.
func (v *validator) matchable(path, p string, prefix bool) {
	if why := unmatchable(p, prefix, v.c.Server.Path); why != "" {
		v.fail(path, "%q never matches: %s", p, why)
	}
}

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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// suggest returns ` (did you mean "x"?)` for the closest name, if close.
func suggest(got string, names []string) string {
	if s := didYouMean(got, names, "?"); s != "" {
		return " (" + s + ")"
	}
	return ""
}

// didYouMean returns `did you mean "x"` and end for the name closest to got
// (at most two edits away, and at most half its letters), or "".
func didYouMean(got string, names []string, end string) string {
	best, bestD := "", min(3, len(got)/2+1)
	for _, n := range names {
		if d := editDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q%s", best, end)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
