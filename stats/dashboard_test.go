package stats

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

const dashboardPath = "../examples/grafana-dashboard.json"

// dashboardExprs returns every PromQL expression in the dashboard: panel
// targets, annotations and template variable queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardPath, err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(d)
	return exprs
}

var metricRef = regexp.MustCompile(`\bbulwark_[a-z_]+`)

// Every metric the dashboard queries exists in the registry, and every
// bulwark metric family is on the dashboard.
func TestDashboardMetricsExist(t *testing.T) {
	s := newStats(t, statsdConfig("", ""))
	recordMix(s)
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]dto.MetricType{}
	for _, mf := range mfs {
		families[mf.GetName()] = mf.GetType()
	}
	exists := func(name string) bool {
		if _, ok := families[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && families[base] == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	used := map[string]bool{}
	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions in the dashboard", len(exprs))
	}
	for _, e := range exprs {
		for _, name := range metricRef.FindAllString(e, -1) {
			if !exists(name) {
				t.Errorf("dashboard queries %s, which the registry does not have (in %q)", name, e)
			}
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && families[base] == dto.MetricType_HISTOGRAM {
					name = base
				}
			}
			used[name] = true
		}
	}
	for _, name := range bulwarkNames {
		if !used[name] {
			t.Errorf("dashboard does not show %s", name)
		}
	}
}

func TestDashboardPanels(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int                `json:"id"`
			Type    string             `json:"type"`
			Title   string             `json:"title"`
			GridPos struct{ W, H int } `json:"gridPos"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" {
		t.Error("no uid")
	}
	var ids []int
	for _, p := range d.Panels {
		if slices.Contains(ids, p.ID) {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids = append(ids, p.ID)
		if p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %d: no title or size", p.ID)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

// Each expression parses as PromQL: promtool checks them as recording rules,
// with Grafana's variables replaced by what they expand to.
func TestDashboardPromQL(t *testing.T) {
	promtool := promtoolPath(t)
	expand := strings.NewReplacer("$__rate_interval", "5m", "$route", ".*", "$backend", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n- name: dashboard\n  rules:\n")
	n := 0
	for _, e := range dashboardExprs(t) {
		if strings.HasPrefix(e, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		q, _ := json.Marshal(expand.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "  - record: dashboard:expr_%d\n    expr: %s\n", n, q)
		n++
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, rules.String())
	}
}
