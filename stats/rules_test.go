package stats

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Rule matches are counted in Prometheus and summed per flush for statsd
// as PREFIX.rule.NAME.ACTION, a dot in a rule's name made '_'.
func TestRuleMatchesCounted(t *testing.T) {
	l := listenUDP(t)
	s := newStats(t, statsdConfig(l.addr(), "px"))
	s.DeclareRule("idle", "tag")
	for range 3 {
		s.RuleMatched("no.bots", "deny")
	}
	if err := testutil.GatherAndCompare(s.Registry(), strings.NewReader(`
# HELP bulwark_rule_matches_total Requests a rule matched (dry-run matches included), by rule and action.
# TYPE bulwark_rule_matches_total counter
bulwark_rule_matches_total{action="deny",rule="no.bots"} 3
bulwark_rule_matches_total{action="tag",rule="idle"} 0
`), "bulwark_rule_matches_total"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := sumCounters(t, l.packets())
	found := false
	for _, line := range got {
		if strings.HasPrefix(line, "px.rule.") {
			if line != "px.rule.no_bots.deny:3|c" {
				t.Errorf("rule line %q", line)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no rule line in %q", got)
	}
}
