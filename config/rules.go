package config

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-router/bulwark/rules/celenv"
)

// Rule is one entry of `rules:`: a condition over a request and what to do
// when it holds. The same object comes through /admin/api/rules.
type Rule struct {
	// Name labels the rule in stats, logs and the admin API.
	Name string `yaml:"name" json:"name"`
	// When is the condition, an expression (package rules documents its
	// names: request.method, request.path, client.ip...).
	When string `yaml:"when" json:"when"`
	// Action is deny, limit, challenge, tag or allow.
	Action string `yaml:"action" json:"action"`
	// Limit names the policy of a limit rule; the rule has its own buckets.
	Limit string `yaml:"limit" json:"limit,omitempty"`
	// Status and Body are a deny rule's answer. Default 403 and its text.
	Status int    `yaml:"status" json:"status,omitempty"`
	Body   string `yaml:"body" json:"body,omitempty"`
	// DryRun counts and logs the matches but does nothing else.
	DryRun bool `yaml:"dry_run" json:"dry_run,omitempty"`
	// TTL ends a live rule by itself; rules of the file may not have one.
	// (Listings and the fleet's store carry the end it gave instead.)
	TTL Duration `yaml:"ttl" json:"-"`
}

// Rule actions.
var ruleActions = []string{"deny", "limit", "challenge", "tag", "allow"}

// maxRuleExpr bounds a rule's expression.
const maxRuleExpr = 4 << 10

// MaxRules bounds how many rules (file and live together) a router holds:
// their names are metric labels.
const MaxRules = 256

func (v *validator) rules() {
	seen := map[string]bool{}
	for i := range v.c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		r := &v.c.Rules[i]
		if seen[r.Name] && r.Name != "" {
			v.fail(p+".name", "duplicate name %q", r.Name)
		}
		seen[r.Name] = true
		if r.TTL != 0 {
			v.fail(p+".ttl", "only rules made through /admin/api/rules expire")
		}
		v.rule(p, r)
	}
	if len(v.c.Rules) > MaxRules {
		v.fail("rules", "at most %d rules", MaxRules)
	}
}

// rule checks one rule found at path p.
func (v *validator) rule(p string, r *Rule) {
	if !nameRE.MatchString(r.Name) {
		v.fail(p+".name", "invalid name %q (want [A-Za-z0-9_.-], at most 64)", r.Name)
	}
	switch {
	case strings.TrimSpace(r.When) == "":
		v.fail(p+".when", "required")
	case len(r.When) > maxRuleExpr:
		v.fail(p+".when", "longer than %d bytes", maxRuleExpr)
	default:
		if err := celenv.Check(r.When); err != nil {
			v.fail(p+".when", "%v", err)
		}
	}
	switch r.Action {
	case "limit":
		if r.Limit == "" {
			v.fail(p+".limit", "required for action limit")
		} else if _, ok := v.c.Limits[r.Limit]; !ok {
			v.fail(p+".limit", "unknown policy %q", r.Limit)
		}
	case "challenge":
		if v.c.Abuse.Challenge.Mode == "off" {
			v.fail(p+".action", "challenge needs abuse.challenge.mode cookie or pow")
		}
	case "deny", "tag", "allow":
	case "":
		v.fail(p+".action", "required (want %s)", strings.Join(ruleActions, ", "))
	default:
		v.fail(p+".action", "unknown action %q (want %s)", r.Action, strings.Join(ruleActions, ", "))
	}
	if r.Action != "limit" && r.Limit != "" {
		v.fail(p+".limit", "only for action limit")
	}
	if r.Action != "deny" && (r.Status != 0 || r.Body != "") {
		v.fail(p+".status", "status and body are only for action deny")
	} else if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
		v.fail(p+".status", "must be between 400 and 599")
	}
	if len(r.Body) > 1024 {
		v.fail(p+".body", "longer than 1024 bytes")
	}
	if r.TTL < 0 {
		v.fail(p+".ttl", "must not be negative")
	}
}

// DenyStatus is a deny rule's status: Status, or 403.
func (r *Rule) DenyStatus() int {
	if r.Status == 0 {
		return http.StatusForbidden
	}
	return r.Status
}

// DenyBody is a deny rule's body: Body, or the status's text.
func (r *Rule) DenyBody() string {
	if r.Body == "" {
		return http.StatusText(r.DenyStatus())
	}
	return r.Body
}

// ParseRule decodes and validates one rule (YAML or JSON) against c's
// policies, as the file's rules are: errors name the field as "rule.when".
// A rule from the admin API may have a TTL.
func (c *Config) ParseRule(data []byte) (*Rule, error) {
	if len(data) > 16<<10 {
		return nil, Errors{{Path: "rule", Msg: "larger than 16KiB"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{{Path: "(syntax)", Msg: err.Error()}}
	}
	if root.Kind == 0 {
		return nil, Errors{{Path: "rule", Msg: "required"}}
	}
	var r Rule
	d := &decoder{lines: map[string]int{}}
	d.decode(&root, reflect.ValueOf(&r).Elem(), "rule")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	cc := *c
	cc.lines = d.lines
	v := &validator{c: &cc}
	v.rule("rule", &r)
	if r.TTL > Duration(30*24*time.Hour) {
		v.fail("rule.ttl", "at most 30 days")
	}
	if len(v.errs) > 0 {
		sortErrors(v.errs)
		return nil, v.errs
	}
	return &r, nil
}

// limitKeyRE is limits.POLICY.key's syntax (package limitkey parses it).
var limitKeyRE = regexp.MustCompile(`^(client|network|(header|cookie|query|json|form):[^\s:]{1,128})$`)

// DefaultMaxInspectBytes is limits.POLICY.max_inspect_bytes's default.
const DefaultMaxInspectBytes = 16 << 10

// limitKeys checks the keys of the limit policies.
func (v *validator) limitKeys() {
	for name, p := range v.c.Limits {
		path := "limits." + name
		if e, ok := strings.CutPrefix(p.Key, "expr:"); ok {
			v.keyExpr(path+".key", e)
		} else if p.Key != "" && !limitKeyRE.MatchString(p.Key) {
			v.fail(path+".key", "invalid key %q (want client, network, header:NAME, cookie:NAME, query:NAME, json:FIELD, form:FIELD or expr:EXPRESSION)", p.Key)
		}
		switch p.KeyFold {
		case "", "lower":
		default:
			v.fail(path+".key_fold", "unknown value %q (want lower)", p.KeyFold)
		}
		if p.MaxInspectBytes < 0 || p.MaxInspectBytes > MaxBodyBuffer {
			v.fail(path+".max_inspect_bytes", "must be between 0 and %v", Size(MaxBodyBuffer))
		}
		if (strings.HasPrefix(p.Key, "json:") || strings.HasPrefix(p.Key, "form:")) && v.c.Server.BodyBuffer == 0 {
			v.fail(path+".key", "a body key needs server.body_buffer (the body is read ahead to inspect it)")
		}
	}
}

// inspectBodies checks routes[].inspect_body: the body is read ahead, so
// it needs server.body_buffer.
func (v *validator) inspectBodies() {
	for i := range v.c.Routes {
		if v.c.Routes[i].InspectBody && v.c.Server.BodyBuffer == 0 {
			v.fail(fmt.Sprintf("routes[%d].inspect_body", i), "needs server.body_buffer (the body is read ahead to inspect it)")
		}
	}
}

// keyExpr checks an expr: key's expression found at path p.
func (v *validator) keyExpr(p, e string) {
	switch {
	case strings.TrimSpace(e) == "":
		v.fail(p, "expr: wants an expression")
	case len(e) > maxRuleExpr:
		v.fail(p, "expression longer than %d bytes", maxRuleExpr)
	default:
		if err := celenv.CheckKey(e); err != nil {
			v.fail(p, "expr: %v", err)
		}
	}
}
