package health

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Check levels, worst last.
const (
	levelOK      = "ok"
	levelWarning = "warning"
	levelError   = "error"
)

func rank(level string) int {
	switch level {
	case levelOK:
		return 0
	case levelWarning:
		return 1
	}
	return 2
}

func worse(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// routerCheck names the router's own check. Backend names cannot contain
// ':', so if a backend is named "router" the router's check is ":router".
const routerCheck = "router"

// report is the /__heartbeat__ answer.
type report struct {
	Status  string            `json:"status"`
	Checks  map[string]string `json:"checks"`
	Details map[string]any    `json:"details"`
}

type backendDetail struct {
	Critical  bool           `json:"critical"`
	Status    int            `json:"status"`
	LatencyMS float64        `json:"latency_ms"`
	Body      string         `json:"body,omitempty"`
	Error     string         `json:"error,omitempty"`
	Targets   []targetDetail `json:"targets,omitempty"`
}

// summaryDetail is a backend's detail under health.details: summary:
// statuses only.
type summaryDetail struct {
	Critical bool           `json:"critical"`
	Status   int            `json:"status"`
	Targets  []targetDetail `json:"targets,omitempty"`
}

// targetDetail is one target's state; URL is left out in summary.
type targetDetail struct {
	URL     string `json:"url,omitempty"`
	Health  string `json:"health"` // up or down, by the active checks
	Breaker string `json:"breaker"`
}

func targetDetails(ts []TargetState, withURL bool) []targetDetail {
	if len(ts) == 0 {
		return nil
	}
	out := make([]targetDetail, len(ts))
	for i, t := range ts {
		out[i] = targetDetail{Health: "down", Breaker: t.Breaker}
		if t.Up {
			out[i].Health = "up"
		}
		if withURL {
			out[i].URL = t.URL
		}
	}
	return out
}

type routerDetail struct {
	ConfigLoaded bool `json:"config_loaded"`
	Draining     bool `json:"draining"`
	Overloaded   bool `json:"overloaded"`
	UnderAttack  bool `json:"under_attack"`
}

func buildReport(cfg *hbConfig, ps *probeSet, st RouterState) *report {
	rep := &report{
		Status:  levelOK,
		Checks:  make(map[string]string, len(cfg.backends)+1),
		Details: make(map[string]any, len(cfg.backends)+1),
	}
	for i, b := range cfg.backends {
		res := ps.results[i]
		level := levelOK
		if !res.OK() {
			level = levelWarning
			if b.critical {
				level = levelError
			}
		}
		rep.Checks[b.name] = level
		if cfg.summary {
			rep.Details[b.name] = summaryDetail{Critical: b.critical, Status: res.Status,
				Targets: targetDetails(res.Targets, false)}
		} else {
			rep.Details[b.name] = backendDetail{
				Critical:  b.critical,
				Status:    res.Status,
				LatencyMS: float64(res.Latency.Microseconds()) / 1000,
				Body:      res.Body,
				Error:     res.Err,
				Targets:   targetDetails(res.Targets, true),
			}
		}
		rep.Status = worse(rep.Status, level)
	}

	level := levelOK
	switch {
	case !st.ConfigLoaded || st.Draining:
		level = levelError
	case st.Overloaded || st.UnderAttack:
		level = levelWarning
	}
	name := routerCheck
	if _, taken := rep.Checks[name]; taken {
		name = ":" + routerCheck
	}
	rep.Checks[name] = level
	rep.Details[name] = routerDetail(st)
	rep.Status = worse(rep.Status, level)
	return rep
}

func (r *report) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: only strings, numbers and bools
		return []byte(`{"status":"error","checks":{},"details":{}}`)
	}
	return append(b, '\n')
}

// maxExcerpt bounds a probe's body in the report.
const maxExcerpt = 256

// excerpt trims s to maxExcerpt bytes of valid UTF-8 without a cut rune.
func excerpt(s string) string {
	if len(s) > maxExcerpt {
		i := maxExcerpt
		for i > maxExcerpt-utf8.UTFMax && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
}
