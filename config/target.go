package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Target is one address of a backend. In the file it is a URL string, or a
// mapping {url, weight, backup} when it needs more than its address.
type Target struct {
	// URL is http:// or https://host:port, optionally with a path prefix.
	URL string `yaml:"url"`
	// Weight skews every balance policy in proportion: a target of weight 3
	// gets three times the requests of one of weight 1 (round robin), or is
	// held to three times its in-flight share (least_requests, p2c).
	// Default 1; 1..1000.
	Weight int `yaml:"weight"`
	// Backup targets take requests only while every primary (non-backup)
	// target is down by health checks or has its breaker open; then they
	// are balanced among themselves. Default false.
	Backup bool `yaml:"backup"`
}

// MaxWeight bounds Target.Weight.
const MaxWeight = 1000

func (t *Target) setDefaults() { t.Weight = 1 }

// setScalar is the short form: a target written as its URL alone.
func (t *Target) setScalar(s string) { t.URL = s }

// UnmarshalYAML accepts both forms for callers decoding with yaml.v3
// directly (Load has its own strict decoder).
func (t *Target) UnmarshalYAML(n *yaml.Node) error {
	t.setDefaults()
	if n.Kind == yaml.ScalarNode {
		t.setScalar(n.Value)
		return nil
	}
	type plain Target
	return n.Decode((*plain)(t))
}

// MarshalYAML writes the short form when weight and backup are defaults.
func (t Target) MarshalYAML() (any, error) {
	if t.Weight == 1 && !t.Backup {
		return t.URL, nil
	}
	type plain Target
	return plain(t), nil
}

// URLs builds targets of weight 1 from URLs, for code that builds a
// Backend by hand.
func URLs(urls ...string) []Target {
	ts := make([]Target, len(urls))
	for i, u := range urls {
		ts[i] = Target{URL: u, Weight: 1}
	}
	return ts
}

// targets checks a backend's targets: URLs, weights and at least one
// primary.
func (v *validator) targets(p string, ts []Target) {
	if len(ts) == 0 {
		v.fail(p, "at least one target is required")
		return
	}
	primaries := 0
	for i, t := range ts {
		tp := fmt.Sprintf("%s[%d]", p, i)
		if t.URL == "" {
			v.fail(tp+".url", "required")
		} else if _, err := ParseTarget(t.URL); err != nil {
			v.fail(tp, "%v", err)
		}
		if t.Weight < 1 || t.Weight > MaxWeight {
			v.fail(tp+".weight", "must be between 1 and %d", MaxWeight)
		}
		if !t.Backup {
			primaries++
		}
	}
	if primaries == 0 {
		v.fail(p, "at least one target must not be a backup")
	}
}
