package config

import (
	"regexp"
	"time"
)

// Token is the signed reputation cookie (abuse.token): a client that earns
// standing gets one, and takes its standing with it to any address, any
// router of the fleet, across restarts.
type Token struct {
	// CookieName is the cookie's name. Default "bulwark_rep".
	CookieName string `yaml:"cookie_name"`
	// SecretFile holds the HMAC-SHA256 key (at least 32 bytes; surrounding
	// whitespace is ignored). Every router of a fleet reads the same one.
	// Empty: a random key is made at start, and kept in abuse.state_file
	// + ".key" when a state file is set.
	SecretFile string `yaml:"secret_file"`
	// PreviousSecretFile holds the key being rotated out: tokens it signed
	// are still accepted (and re-signed with the new key). Empty: none.
	PreviousSecretFile string `yaml:"previous_secret_file"`
	// TTL is how long a token is valid after its issue. Default 7 days.
	TTL Duration `yaml:"ttl"`
	// IssuePerNetworkPerMinute caps the tokens issued to one network
	// (abuse per_network prefixes: /24, /48) per minute, so a botnet cannot
	// farm standing before it attacks. Default 30; 0 turns issuing off.
	IssuePerNetworkPerMinute int `yaml:"issue_per_network_per_minute"`
	// Secure sets the cookie's Secure attribute: auto (default: when the
	// request came over HTTPS, per X-Forwarded-Proto from a trusted proxy),
	// always or never.
	Secure string `yaml:"secure"`
}

// tokenDefaults are abuse.token's defaults.
func tokenDefaults() Token {
	return Token{CookieName: "bulwark_rep", TTL: Duration(7 * 24 * time.Hour),
		IssuePerNetworkPerMinute: 30, Secure: "auto"}
}

// cookieName is what RFC 6265 allows as a cookie name (a token).
var cookieName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")

// standing validates abuse.token and abuse.state_file.
func (v *validator) standing() {
	t := v.c.Abuse.Token
	if !cookieName.MatchString(t.CookieName) {
		v.fail("abuse.token.cookie_name", "invalid cookie name %q", t.CookieName)
	}
	v.positive("abuse.token.ttl", t.TTL)
	if t.IssuePerNetworkPerMinute < 0 {
		v.fail("abuse.token.issue_per_network_per_minute", "must not be negative")
	}
	switch t.Secure {
	case "auto", "always", "never":
	default:
		v.fail("abuse.token.secure", "unknown value %q (want auto, always or never)", t.Secure)
	}
	v.challenge()
}

// Challenge is what a stranger gets instead of a flat 503 when it would be
// refused for lack of capacity (abuse.challenge).
type Challenge struct {
	// Mode is off, cookie (default: a 307 to the same URL setting a signed
	// nonce cookie; 503 with the cookie for other methods) or pow (cookie,
	// and HTML navigations get a page that solves a proof of work first).
	Mode string `yaml:"mode"`
	// CookieName is the nonce cookie's name. Default "bulwark_ch".
	CookieName string `yaml:"cookie_name"`
	// TTL is how long a nonce is valid. Default 10m.
	TTL Duration `yaml:"ttl"`
	// PowBits is the proof of work's difficulty, in leading zero bits of
	// SHA-256; attack mode adds 2. Default 16.
	PowBits int `yaml:"pow_bits"`
	// Share is the share of a saturated backend's max_in_flight that
	// strangers who came back with a solved challenge may hold, with the
	// other strangers (who keep to abuse.new_client_share): the slots
	// known clients leave idle. Known clients still rank first for every
	// slot. At least new_client_share; applied on reload. Default 0.75.
	Share float64 `yaml:"share"`
	// Rate and Burst are each nonce's own bucket: requests over it rank as
	// a plain stranger's, so one solved challenge cannot carry a flood.
	// Default 20/s, burst 40.
	Rate  Rate `yaml:"rate"`
	Burst int  `yaml:"burst"`
}

func challengeDefaults() Challenge {
	return Challenge{Mode: "cookie", CookieName: "bulwark_ch", TTL: Duration(10 * time.Minute), PowBits: 16,
		Share: 0.75, Rate: Rate{Count: 20, Per: time.Second}, Burst: 40}
}

func (v *validator) challenge() {
	c := v.c.Abuse.Challenge
	switch c.Mode {
	case "off", "cookie", "pow":
	default:
		v.fail("abuse.challenge.mode", "unknown value %q (want off, cookie or pow)", c.Mode)
	}
	if !cookieName.MatchString(c.CookieName) || c.CookieName == v.c.Abuse.Token.CookieName {
		v.fail("abuse.challenge.cookie_name", "invalid cookie name %q (and it must differ from abuse.token.cookie_name)", c.CookieName)
	}
	v.positive("abuse.challenge.ttl", c.TTL)
	if c.PowBits < 1 || c.PowBits > 24 {
		v.fail("abuse.challenge.pow_bits", "must be between 1 and 24")
	}
	if c.Share < 0 || c.Share > 1 {
		v.fail("abuse.challenge.share", "must be between 0 and 1")
	}
	if c.Rate.PerSecond() <= 0 {
		v.fail("abuse.challenge.rate", "must be positive")
	}
	if c.Burst < 1 {
		v.fail("abuse.challenge.burst", "must be at least 1")
	}
}
