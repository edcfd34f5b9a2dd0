// Package config defines bulwark's configuration file: its types, defaults,
// parsing and validation. It imports no other bulwark package.
//
// A Config is a plain value: once loaded it is never mutated, so it is safe to
// share between goroutines.
package config

// Config is the whole file. Load fills defaults for every key the file omits.
type Config struct {
	// Listen is the public listener address. Default ":8080".
	Listen string `yaml:"listen"`
	// ListenProxyProtocol accepts PROXY protocol v1/v2 headers, but only from
	// ClientIP.TrustedProxies peers. Default false.
	ListenProxyProtocol bool `yaml:"listen_proxy_protocol"`
	// TLS, when set, makes the public listener speak TLS (and HTTP/2 by
	// ALPN). Nil: plain HTTP.
	TLS *TLS `yaml:"tls"`

	Admin    Admin                   `yaml:"admin"`
	Server   Server                  `yaml:"server"`
	ClientIP ClientIP                `yaml:"client_ip"`
	Backends map[string]*Backend     `yaml:"backends"`
	Routes   []Route                 `yaml:"routes"`
	Limits   map[string]*LimitPolicy `yaml:"limits"`
	// Rules act on requests matching a condition, in order (rules.go).
	Rules []Rule `yaml:"rules"`
	// LimitStore, when set, shares rate-limit buckets and bans through Redis.
	// Nil means the in-memory table only.
	LimitStore *LimitStore `yaml:"limit_store"`
	Abuse      Abuse       `yaml:"abuse"`
	Health     Health      `yaml:"health"`
	Stats      Stats       `yaml:"stats"`
	Log        Log         `yaml:"log"`

	// lines maps a field path ("routes[2].backend") to its line in the file.
	lines map[string]int
}

// Line returns the line of the YAML node at path, or 0 when unknown.
func (c *Config) Line(path string) int { return c.lines[path] }

// Admin is the admin listener (metrics, status page, bans, pprof).
type Admin struct {
	// Listen defaults to "127.0.0.1:9901". An empty string after an explicit
	// `listen: ""` turns the admin listener off.
	Listen string `yaml:"listen"`
	// Token is required (as a bearer token) when Listen is not a loopback
	// address, unless Tokens are given; the router refuses to start
	// without one. Changes made with it are audited as by "token".
	Token string `yaml:"token"`
	// Tokens are named bearer tokens, each accepted like Token; changes
	// made with one are audited under its name. Empty: none.
	Tokens []AdminToken `yaml:"tokens"`
}

// AdminToken is a named admin bearer token kept in a file.
type AdminToken struct {
	Name string `yaml:"name"`
	// TokenFile holds the token (surrounding white space is trimmed). It is
	// read when the config is loaded, so a reload (of a restart-only
	// setting) or a restart picks up a new one.
	TokenFile string `yaml:"token_file"`
	// Token is TokenFile's content, filled by Load.
	Token string `yaml:"-"`
}

// Server holds the public listener's limits. Every zero value is replaced by
// a safe default; none of them means "unlimited".
type Server struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"` // default 10s
	ReadTimeout       Duration `yaml:"read_timeout"`        // default 60s
	WriteTimeout      Duration `yaml:"write_timeout"`       // default 120s
	IdleTimeout       Duration `yaml:"idle_timeout"`        // default 90s
	MaxHeaderBytes    Size     `yaml:"max_header_bytes"`    // default 32KiB
	MaxBodyBytes      Size     `yaml:"max_body_bytes"`      // default 10MiB
	ShutdownGrace     Duration `yaml:"shutdown_grace"`      // default 30s
	// DrainDelay keeps accepting for this long after SIGTERM while both
	// heartbeats answer 503 and keep-alives are off, so a load balancer that
	// cannot retry sees the router leave before its listener closes.
	// Default 0: stop accepting at once.
	DrainDelay Duration `yaml:"drain_delay"`
	// EarlyRefusal lets the public listener answer a request the router
	// refuses (deny list, ban, in-flight cap, empty bucket) from its raw
	// head, before net/http builds it: the cheapest refusal. Default true;
	// false sends every request through the full path.
	EarlyRefusal bool `yaml:"early_refusal"`
	// BodyBuffer is the largest request body read whole before the request
	// takes a backend slot or a place in a backend's queue: a body with a
	// Content-Length up to it, or a chunked one that ends within it, is
	// forwarded only once it is all in, with a Content-Length. A larger
	// body has its first BodyBuffer bytes read before, and the rest
	// streams. Default 64KiB; 0 streams every body from its first byte.
	BodyBuffer Size `yaml:"body_buffer"`
	// MinBodyRate is the slowest a client may send a request body: after
	// t seconds it must have sent MinBodyRate × (t − 1s) bytes, or it gets
	// 408 and its connection closes. Buffered and streamed bodies alike.
	// Default 1KiB/s; 0 turns the check off (read_timeout still applies).
	MinBodyRate ByteRate `yaml:"min_body_rate"`
	// Path says how request paths are normalised before routing.
	Path PathNorm `yaml:"path"`
	// Upgrades are the protocols a client may switch to with an Upgrade
	// request (RFC 9110, section 7.8), matched without case against the
	// name before any "/version". Only those are tunnelled; a request
	// asking for another is forwarded as a plain one, without its Upgrade
	// field. Default [websocket]; an empty list allows none. h2c is never
	// tunnelled and may not be listed.
	Upgrades []string `yaml:"upgrades"`
	// H2C serves HTTP/2 with prior knowledge on a plain listener (a load
	// balancer that speaks h2c to its targets). Default false. Over TLS,
	// HTTP/2 is negotiated by ALPN and always on.
	H2C bool `yaml:"h2c"`
	// HTTP2 bounds each HTTP/2 connection (config/tls.go).
	HTTP2 HTTP2 `yaml:"http2"`
}

// PathNorm is how request paths are normalised before routing, limits and
// stats see them (package router/pathnorm). Routes always match the decoded,
// normalised path; the backend receives the normalised path, escaped.
type PathNorm struct {
	// Normalize removes dot segments ("/a/./b", "/x/../a", "/%2e/a"),
	// decodes escapes of unreserved characters and upper-cases the others;
	// a path that cannot be normalised safely gets 400. Default true; false
	// turns off every step here, and routes match the path as net/http
	// decoded it.
	Normalize bool `yaml:"normalize"`
	// MergeSlashes merges runs of slashes ("//a///b" is "/a/b"). Default true.
	MergeSlashes bool `yaml:"merge_slashes"`
	// EscapedSlashes is what the backend receives for %2F and %5C: "keep"
	// (as sent, escaped), "unescape" (%2F becomes a slash; a backslash
	// cannot travel raw, so %5C stays) or "reject" (400, and for a raw
	// backslash too). Default "keep". Routes see %2F as a slash either way.
	EscapedSlashes string `yaml:"escaped_slashes"`
}

// ClientIP says how to find the real client behind proxies.
type ClientIP struct {
	// TrustedProxies are CIDRs whose Header is believed. Empty: trust nobody,
	// the socket peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Header carries the forwarded chain. Default "X-Forwarded-For".
	Header string `yaml:"header"`
	// IPv6Prefix groups IPv6 clients per prefix. Default 64.
	IPv6Prefix int `yaml:"ipv6_prefix"`
}

// Backend is a pool of targets serving the same application.
type Backend struct {
	// Targets are the backend's addresses, at least one of them not a
	// backup.
	Targets []Target `yaml:"targets"`
	// Balance is round_robin (default), least_requests or p2c.
	Balance         string   `yaml:"balance"`
	ConnectTimeout  Duration `yaml:"connect_timeout"`  // default 2s
	ResponseTimeout Duration `yaml:"response_timeout"` // default 30s; time to response headers
	// MaxInFlight caps concurrent requests to the backend. 0 means no cap.
	MaxInFlight int `yaml:"max_in_flight"`
	// Retries is how many other targets a failed request may try. Default 1.
	Retries int `yaml:"retries"`
	// Transport is "fast" (default: bulwark's pooled HTTP/1.1 client) or
	// "standard" (net/http's Transport).
	Transport string  `yaml:"transport"`
	Queue     Queue   `yaml:"queue"`
	Health    Check   `yaml:"health"`
	Breaker   Breaker `yaml:"breaker"`

	// TLS configures the connections to https:// targets. Nil: the system
	// roots, the target's host as server name, no client certificate.
	TLS *BackendTLS `yaml:"tls"`
}

// Queue is the bounded admission queue used when MaxInFlight is reached.
// MaxLen 0 means no queue: requests over the cap are refused at once.
type Queue struct {
	MaxWait Duration `yaml:"max_wait"` // default 100ms when MaxLen > 0
	MaxLen  int      `yaml:"max_len"`
}

// Check is a backend's active health check. An empty Path turns it off.
type Check struct {
	Path     string   `yaml:"path"`
	Interval Duration `yaml:"interval"` // default 5s
	Timeout  Duration `yaml:"timeout"`  // default 2s
	Rise     int      `yaml:"rise"`     // default 2
	Fall     int      `yaml:"fall"`     // default 3
	// Critical backends are probed by the composite /__heartbeat__; a failure
	// turns it to "error". Non-critical failures give "warning".
	Critical bool `yaml:"critical"`
}

// Breaker is the circuit breaker applied per target and per backend.
// ConsecutiveFailures 0 and FailureRatio 0 together turn it off.
type Breaker struct {
	ConsecutiveFailures int      `yaml:"consecutive_failures"` // default 5
	FailureRatio        float64  `yaml:"failure_ratio"`        // default 0.5
	MinRequests         int      `yaml:"min_requests"`         // default 20
	Window              Duration `yaml:"window"`               // default 10s
	OpenFor             Duration `yaml:"open_for"`             // default 5s
	HalfOpenRequests    int      `yaml:"half_open_requests"`   // default 1
	Disabled            bool     `yaml:"disabled"`
}

// Route sends matching requests to a backend. Routes match in file order.
type Route struct {
	Match   Match  `yaml:"match"`
	Backend string `yaml:"backend"`
	// Limit names a policy in Limits; empty means "default" when it exists,
	// "none" turns limits off for the route.
	Limit string `yaml:"limit"`
	// Abuse "auth" makes responses count toward abuse.auth_failures.
	Abuse string     `yaml:"abuse"`
	Stats RouteStats `yaml:"stats"`
	// InspectBody lets rules read the body's fields (request.json,
	// request.form) on this route, up to limits.POLICY.max_inspect_bytes
	// (16 KiB without a policy). Default false: rules see empty maps.
	InspectBody bool `yaml:"inspect_body"`
	// Timeouts override the backend's for this route.
	Timeouts RouteTimeouts `yaml:"timeouts"`
	// Headers edit the request the backend gets and the backend's answer.
	Headers RouteHeaders `yaml:"headers"`
	// StripPrefix is removed from the path the backend gets when the path
	// starts with it at a segment boundary. Empty: nothing is stripped.
	StripPrefix string `yaml:"strip_prefix"`
	// RewritePrefix replaces the stripped prefix (strip_prefix, or
	// match.path_prefix when strip_prefix is empty). Empty: no rewrite.
	RewritePrefix string `yaml:"rewrite_prefix"`
}

// RouteHeaders edit one route's header fields: Request those the backend
// gets (after the router's own X-Forwarded-* and X-Request-Id, which they
// may not touch), Response those of the backend's answer (not of the
// answers the router makes itself, such as a 502).
type RouteHeaders struct {
	Request  HeaderEdits `yaml:"request"`
	Response HeaderEdits `yaml:"response"`
}

// HeaderEdits are applied in this order: Remove, Set, Add. Values may hold
// the placeholders {client_ip}, {request_id} and {route} (the route's
// stats name); "{{" is a literal "{".
type HeaderEdits struct {
	// Set replaces every value of a field with one.
	Set map[string]string `yaml:"set"`
	// Add appends a value to a field.
	Add map[string]string `yaml:"add"`
	// Remove deletes fields.
	Remove []string `yaml:"remove"`
}

// RouteTimeouts override a backend's timeouts on one route. Zero keeps the
// backend's.
type RouteTimeouts struct {
	// Response replaces the backend's response_timeout: the wait for the
	// response head once the request is written (504 past it).
	Response Duration `yaml:"response"`
}

// Match selects requests. Every non-empty field must match; an empty Match
// matches every request.
type Match struct {
	Path       string   `yaml:"path"`
	Paths      []string `yaml:"paths"`
	PathPrefix string   `yaml:"path_prefix"`
	Methods    []string `yaml:"methods"`
	Host       string   `yaml:"host"`
}

// RouteStats names the route in metrics.
type RouteStats struct {
	// Name is the route's label and statsd segment. Default "route<N>" or the
	// backend name.
	Name string `yaml:"name"`
	// PerAPI counts each request under PREFIX.NAME.<next path segment>.
	PerAPI bool `yaml:"per_api"`
}

// LimitPolicy is a per-client token bucket.
type LimitPolicy struct {
	Rate       Rate        `yaml:"rate"`
	Burst      int         `yaml:"burst"` // default: one second's worth of Rate, at least 1
	DryRun     bool        `yaml:"dry_run"`
	PerNetwork *PerNetwork `yaml:"per_network"`
	// Key is what a bucket belongs to: client (default), network,
	// header:NAME, cookie:NAME, query:NAME, json:FIELD or form:FIELD.
	// Values are hashed with HMAC under abuse.key_secret_file; a request
	// without the value has its own client's "missing" bucket.
	Key string `yaml:"key"`
	// KeyFold "lower" lower-cases values (e-mail addresses). Default "".
	KeyFold string `yaml:"key_fold"`
	// MaxInspectBytes bounds the body read for a json: or form: key.
	// Default 16KiB (the body is still forwarded whole).
	MaxInspectBytes Size `yaml:"max_inspect_bytes"`
}

// PerNetwork is an aggregate bucket shared by every client in a prefix.
type PerNetwork struct {
	IPv4Prefix int  `yaml:"ipv4_prefix"` // default 24
	IPv6Prefix int  `yaml:"ipv6_prefix"` // default 48
	Rate       Rate `yaml:"rate"`
	Burst      int  `yaml:"burst"`
}

// LimitStore is the optional Redis store shared by a fleet.
type LimitStore struct {
	// URL is redis:// or rediss:// (TLS). For a cluster it is one seed;
	// more may follow as ?addr=HOST:PORT&addr=... (go-redis's cluster URL
	// form). With Sentinel it may be empty, or carry the password, the
	// database and the scheme.
	URL string `yaml:"url"`
	// Cluster talks Redis Cluster protocol (seeds: URL and Addrs).
	Cluster bool `yaml:"cluster"`
	// Addrs are more cluster seeds (HOST:PORT); empty means the URL's.
	Addrs []string `yaml:"addrs"`
	// Sentinel, when set, finds the primary through sentinels.
	Sentinel *Sentinel `yaml:"sentinel"`
	// CAFile is a PEM bundle of the CAs a rediss:// server is checked
	// against; empty means the system's.
	CAFile string `yaml:"ca_file"`
	// Mode is exact (default: one Redis operation per decision) or lease
	// (routers spend slices of a hot client's budget locally).
	Mode string `yaml:"mode"`
	// OnError is local (default), allow or deny.
	OnError string   `yaml:"on_error"`
	Timeout Duration `yaml:"timeout"` // default 50ms
}

// Sentinel names a Sentinel-managed primary.
type Sentinel struct {
	MasterName string   `yaml:"master_name"`
	Addrs      []string `yaml:"addrs"` // HOST:PORT of the sentinels
}

// Abuse holds the per-client heuristics.
type Abuse struct {
	MaxTrackedClients    int          `yaml:"max_tracked_clients"` // default 100000
	MaxConnsPerClient    int          `yaml:"max_conns_per_client"`
	MaxInFlightPerClient int          `yaml:"max_in_flight_per_client"`
	Ban                  Ban          `yaml:"ban"`
	AuthFailures         AuthFailures `yaml:"auth_failures"`
	Overload             Overload     `yaml:"overload"`
	Allow                []string     `yaml:"allow"`
	Deny                 []string     `yaml:"deny"`
	DryRun               bool         `yaml:"dry_run"`
	// NewClientShare is the share of a saturated backend that new clients
	// together may use. Default 0.3; 1 disables the priority.
	NewClientShare float64 `yaml:"new_client_share"`
	// Reputation says when a client counts as known. Read at start only.
	Reputation Reputation `yaml:"reputation"`
	// Attack says when attack mode begins and ends. Read at start only.
	Attack Attack `yaml:"attack"`
	// Token is the signed reputation cookie (see standing.go). Read at
	// start only.
	Token Token `yaml:"token"`
	// Challenge is what strangers get instead of a 503 under pressure
	// (see standing.go). Read at start only.
	Challenge Challenge `yaml:"challenge"`
	// StateFile is where bans, reputation and token revocations are kept
	// across restarts. Empty: nothing is kept.
	StateFile string `yaml:"state_file"`
	// KeySecretFile holds the secret limit keys' values are hashed under
	// (HMAC), and live rules are signed with. Empty: abuse.token.secret_file's
	// key, else a random secret per process (each router of a fleet
	// then keys alike values apart). Read when the config is loaded.
	KeySecretFile string `yaml:"key_secret_file"`
	// KeySecret is KeySecretFile's content, filled by Load.
	KeySecret string `yaml:"-"`
}

// Reputation: a client is known after KnownAfterGood good answers (2xx,
// 3xx) over at least KnownAfterAge.
type Reputation struct {
	KnownAfterGood int      `yaml:"known_after_good"` // default 20
	KnownAfterAge  Duration `yaml:"known_after_age"`  // default 1m
}

// Attack: attack mode begins in a second with more than MinNewPerSecond new
// clients, Factor times the learnt baseline or more, while a backend queue
// or the router is under pressure; it ends after Calm without such a second.
type Attack struct {
	MinNewPerSecond float64  `yaml:"min_new_per_second"` // default 50
	Factor          float64  `yaml:"factor"`             // default 4
	Calm            Duration `yaml:"calm"`               // default 10s
}

// Ban bans clients refused too often. AfterRejections 0 turns bans off.
type Ban struct {
	AfterRejections int      `yaml:"after_rejections"`
	Within          Duration `yaml:"within"`       // default 1m
	Duration        Duration `yaml:"duration"`     // default 1m
	MaxDuration     Duration `yaml:"max_duration"` // default 1h
}

// AuthFailures bans clients that fail authentication too often on routes with
// abuse: auth. Max 0 turns it off.
type AuthFailures struct {
	Statuses []int    `yaml:"statuses"` // default [401, 403]
	Max      int      `yaml:"max"`
	Within   Duration `yaml:"within"` // default 10m
}

// Overload sheds load when the router is saturated. MaxInFlight 0 turns it off.
type Overload struct {
	MaxInFlight  int      `yaml:"max_in_flight"`
	MaxQueueWait Duration `yaml:"max_queue_wait"` // default 50ms
}

// Health configures the composite /__heartbeat__.
type Health struct {
	CacheTTL Duration `yaml:"cache_ttl"` // default 1s
	Timeout  Duration `yaml:"timeout"`   // default 3s
	// Details is how much /__heartbeat__ tells the public listener: public
	// (default: each backend's status, latency, body excerpt, error and
	// targets) or summary (statuses only: no bodies, latencies, errors or
	// target addresses).
	Details string `yaml:"details"`
}

// Stats configures statsd and Prometheus.
type Stats struct {
	Statsd     Statsd     `yaml:"statsd"`
	Prometheus Prometheus `yaml:"prometheus"`
}

// Statsd is off when Address is empty.
type Statsd struct {
	Address       string   `yaml:"address"`
	Prefix        string   `yaml:"prefix"`         // default "bulwark"
	FlushInterval Duration `yaml:"flush_interval"` // default 100ms
}

// Prometheus serves /metrics on the admin listener when Enabled (default true).
type Prometheus struct {
	Enabled bool `yaml:"enabled"`
}

// Log configures zap.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or console
	// Access writes one line per request. Default true.
	Access bool      `yaml:"access"`
	Sample LogSample `yaml:"sample"`
	// RedactQuery names the query parameters whose values an access line
	// replaces with REDACTED (names compared without case). Default: the
	// usual names of secrets (DefaultRedactQuery()); [] logs every value.
	RedactQuery []string `yaml:"redact_query"`
}

// DefaultRedactQuery returns log.redact_query when the file does not set it.
func DefaultRedactQuery() []string {
	return []string{"access_token", "api_key", "apikey", "auth", "client_secret",
		"code", "id_token", "key", "pass", "passwd", "password", "refresh_token", "secret",
		"sig", "signature", "token"}
}

// LogSample bounds log volume: per second and per message, the first Initial
// lines are written, then every Thereafter-th. Initial 0 turns sampling off.
type LogSample struct {
	Initial    int `yaml:"initial"`    // default 100
	Thereafter int `yaml:"thereafter"` // default 100
}
