package admin

import "github.com/bulwark-router/bulwark/stats"

var _ stats.RuleRecorder = (*Recorder)(nil)

// DeclareRule forwards to the wrapped recorder when it counts rules.
func (r *Recorder) DeclareRule(rule, action string) {
	stats.RuleRecorderOf(r.Recorder).DeclareRule(rule, action)
}

// RuleMatched forwards to the wrapped recorder when it counts rules.
func (r *Recorder) RuleMatched(rule, action string) {
	stats.RuleRecorderOf(r.Recorder).RuleMatched(rule, action)
}
