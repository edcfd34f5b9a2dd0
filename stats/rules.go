package stats

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// RuleRecorder is implemented by recorders that count rule matches
// (bulwark_rule_matches_total{rule,action}, statsd PREFIX.rule.NAME.ACTION).
// A Recorder without it does not count them.
type RuleRecorder interface {
	// DeclareRule exports a rule's series at 0 before it first matches.
	DeclareRule(rule, action string)
	// RuleMatched counts one match (dry-run ones included).
	RuleMatched(rule, action string)
}

// MaxRuleSeries bounds the rule series: the first MaxRuleSeries distinct
// (rule, action) pairs have their own, the rest count as rule "other".
const MaxRuleSeries = 512

// RuleRecorderOf returns rec's RuleRecorder, a no-op one when it has none.
func RuleRecorderOf(rec Recorder) RuleRecorder {
	if r, ok := rec.(RuleRecorder); ok {
		return r
	}
	return Nop{}
}

func (Nop) DeclareRule(string, string) {}
func (Nop) RuleMatched(string, string) {}

func (m Multi) DeclareRule(rule, action string) {
	for _, x := range m {
		RuleRecorderOf(x).DeclareRule(rule, action)
	}
}

func (m Multi) RuleMatched(rule, action string) {
	for _, x := range m {
		RuleRecorderOf(x).RuleMatched(rule, action)
	}
}

type ruleKey struct{ rule, action string }

// ruleCounter is one rule's Prometheus counter and its statsd count since
// the last flush.
type ruleCounter struct {
	prom prometheus.Counter
	sd   atomic.Int64
	name []byte // rule.NAME.ACTION, its segments sanitised
}

// ruleTable holds the rule counters; lookups take no lock.
type ruleTable struct {
	vec *prometheus.CounterVec
	m   cowMap[ruleKey, *ruleCounter]
}

func newRuleVec(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bulwark_rule_matches_total",
		Help: "Requests a rule matched (dry-run matches included), by rule and action.",
	}, []string{"rule", "action"})
	return v, reg.Register(v)
}

func (t *ruleTable) get(rule, action string) *ruleCounter {
	k := ruleKey{rule, action}
	if c, ok := t.m.load(k); ok {
		return c
	}
	return t.m.loadOrAdd(k, func(k ruleKey, n int) (ruleKey, *ruleCounter) {
		if n >= MaxRuleSeries {
			k = ruleKey{Other, k.action}
		}
		k = ruleKey{labelValue(k.rule), labelValue(k.action)}
		c := &ruleCounter{prom: t.vec.WithLabelValues(k.rule, k.action)}
		c.name = append(append(append([]byte("rule."), sdSegment(k.rule)...), '.'), sdSegment(k.action)...)
		return k, c
	})
}

// sdSegment makes s one statsd name segment: bytes other than
// [A-Za-z0-9_-] become '_'.
func sdSegment(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if !segmentByte(c) {
			b[i] = '_'
		}
	}
	return b
}

// DeclareRule exports the rule's series at 0.
func (s *Stats) DeclareRule(rule, action string) { s.rules.get(rule, action) }

// RuleMatched counts one match of rule.
func (s *Stats) RuleMatched(rule, action string) {
	c := s.rules.get(rule, action)
	c.prom.Inc()
	if s.sd.Load() != nil {
		c.sd.Add(1)
	}
}

// appendRuleLines appends PREFIX.rule.NAME.ACTION:N|c for every rule
// counted since the last flush, and sets their counts to zero.
func (s *Stats) appendRuleLines(b []byte, prefix string) []byte {
	m := s.rules.m.snapshot()
	if len(m) == 0 {
		return b
	}
	var lines [][]byte
	for _, c := range m {
		if n := swapNonZero(&c.sd); n != 0 {
			var l []byte
			l = append(append(append(l, prefix...), '.'), c.name...)
			l = append(strconv.AppendInt(append(l, ':'), n, 10), "|c\n"...)
			lines = append(lines, l)
		}
	}
	// Sorted, so a flush reads the same way each time.
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && bytes.Compare(lines[j], lines[j-1]) < 0; j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
	for _, l := range lines {
		b = append(b, l...)
	}
	return b
}
