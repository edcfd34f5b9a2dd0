package rules

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
)

// maxRuleBody bounds a POST or PUT body of /admin/api/rules.
const maxRuleBody = 16 << 10

// RuleInfo is a rule as /admin/api/rules lists it.
type RuleInfo struct {
	config.Rule
	Origin    string    `json:"origin"`
	Version   uint64    `json:"version,omitempty"`
	By        string    `json:"by,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
	Matches   uint64    `json:"matches"`
	PerSecond uint64    `json:"matches_per_second"`
	Errors    uint64    `json:"errors"`
}

// List returns the rules in force, in the order they run.
func (e *Engine) List() []RuleInfo {
	now := e.now()
	out := []RuleInfo{}
	for _, r := range e.Current().Rules() {
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			continue
		}
		out = append(out, RuleInfo{Rule: r.Rule, Origin: r.Origin, Version: r.Version, By: r.By, Expires: r.Expires,
			Matches: r.stats.Total(), PerSecond: r.stats.PerSecond(now), Errors: r.stats.Errors()})
	}
	return out
}

// Handler serves /admin/api/rules: GET lists every rule (file and live)
// with its counters; POST adds a live rule (a JSON or YAML object like a
// `rules:` entry, with an optional ttl), PUT replaces the live rule of the
// body's name, DELETE ?name=NAME removes one. Changes are validated as the
// config file's rules are, and audited under actor(r). Authentication is
// the admin listener's job.
func (e *Engine) Handler(actor func(*http.Request) string) http.Handler {
	if actor == nil {
		actor = func(*http.Request) string { return "admin" }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		by := actor(r)
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, http.StatusOK, map[string]any{"rules": e.List()})
		case http.MethodPost, http.MethodPut:
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRuleBody+1))
			if err != nil || len(body) > maxRuleBody {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body unreadable or larger than 16KiB"})
				return
			}
			lr, status, err := e.change(body, r.Method == http.MethodPut, by)
			if err != nil {
				writeJSON(w, status, map[string]any{"error": err.Error(), "errors": fieldErrors(err)})
				return
			}
			e.audit(map[bool]string{true: "replace", false: "add"}[r.Method == http.MethodPut], lr, by)
			writeJSON(w, status, map[string]any{"rule": lr})
		case http.MethodDelete:
			name := r.URL.Query().Get("name")
			lr, status, err := e.remove(name)
			if err != nil {
				writeJSON(w, status, map[string]string{"error": err.Error(), "name": name})
				return
			}
			e.audit("remove", lr, by)
			writeJSON(w, http.StatusOK, map[string]any{"removed": name})
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, PUT, DELETE")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		}
	})
}

var errExists = errors.New("a rule of that name exists")

// change adds (replace false) or replaces a live rule from body.
func (e *Engine) change(body []byte, replace bool, by string) (LiveRule, int, error) {
	cfg := e.Config()
	if cfg == nil {
		return LiveRule{}, http.StatusServiceUnavailable, errors.New("no config yet")
	}
	c, err := cfg.ParseRule(body)
	if err != nil {
		return LiveRule{}, http.StatusBadRequest, err
	}
	if e.FileRuleNamed(c.Name) {
		return LiveRule{}, http.StatusConflict, errors.New("the config file has a rule of that name")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	i := -1
	for j, lr := range e.live {
		if lr.Name == c.Name && (lr.Expires.IsZero() || now.Before(lr.Expires)) {
			i = j
		}
	}
	switch {
	case replace && i < 0:
		return LiveRule{}, http.StatusNotFound, errors.New("no live rule of that name")
	case !replace && i >= 0:
		return LiveRule{}, http.StatusConflict, errExists
	case !replace && len(e.live)+len(e.file) >= config.MaxRules:
		return LiveRule{}, http.StatusConflict, errors.New("too many rules")
	}
	lr := LiveRule{Rule: *c, Version: e.version + 1, By: by, Created: now}
	if c.TTL > 0 {
		lr.Expires = now.Add(c.TTL.D())
	}
	live := e.pruned(now)
	if replace {
		for j := range live {
			if live[j].Name == c.Name {
				live[j] = lr
			}
		}
	} else {
		live = append(live, lr)
	}
	if err := e.commit(lr.Version, live); err != nil {
		return LiveRule{}, http.StatusConflict, err
	}
	status := http.StatusCreated
	if replace {
		status = http.StatusOK
	}
	return lr, status, nil
}

// pruned returns the live rules that have not expired. Called with mu.
func (e *Engine) pruned(now time.Time) []LiveRule {
	var out []LiveRule
	for _, lr := range e.live {
		if lr.Expires.IsZero() || now.Before(lr.Expires) {
			out = append(out, lr)
		}
	}
	return out
}

func (e *Engine) remove(name string) (LiveRule, int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for j, lr := range e.live {
		if lr.Name == name {
			live := append(e.live[:j:j], e.live[j+1:]...)
			if err := e.commit(e.version+1, live); err != nil {
				return LiveRule{}, http.StatusConflict, err
			}
			return lr, http.StatusOK, nil
		}
	}
	return LiveRule{}, http.StatusNotFound, errors.New("no live rule of that name")
}

// commit makes live the live rules at version: in the fleet's store first
// (when shared), then here. A change another router stored first fails
// the store's compare-and-set: nothing changes, and the caller retries.
// Called with mu held.
func (e *Engine) commit(version uint64, live []LiveRule) error {
	if e.share != nil {
		if err := e.share(version, live); err != nil {
			return err
		}
	}
	e.version, e.live = version, live
	return e.rebuild()
}

func (e *Engine) audit(action string, lr LiveRule, by string) {
	e.log.Info("admin audit", zap.String("action", "rule "+action), zap.String("rule", lr.Name),
		zap.String("when", lr.When), zap.String("rule_action", lr.Action), zap.Bool("dry_run", lr.DryRun),
		zap.Uint64("version", lr.Version), zap.Float64("ttl_s", lr.TTL.D().Seconds()), zap.String("by", by))
}

func fieldErrors(err error) []string {
	var es config.Errors
	if !errors.As(err, &es) {
		return nil
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
