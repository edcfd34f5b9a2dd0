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
}
