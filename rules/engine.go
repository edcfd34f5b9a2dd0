package rules

import (
	"fmt"
	"github.com/bulwark-router/bulwark/limitkey"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
)

// Engine holds the rules a router runs: the config file's and the live
// ones (/admin/api/rules), compiled into a Set that is swapped atomically.
// Live rules run first: they are what an operator adds during an attack,
// and a file rule must not let their target through. Counters and limit
// buckets survive changes for rules kept under the same name. Safe for
// concurrent use.
type Engine struct {
	log *zap.Logger
	rec stats.RuleRecorder
	now func() time.Time

	set atomic.Pointer[Set]

	mu       sync.Mutex // guards what follows, serialises rebuilds
	cfg      *config.Config
	file     []config.Rule
	live     []LiveRule
	counters map[string]*Counters // by origin/name
	buckets  map[bucketID]*limitkey.Buckets
	version  uint64 // of the live rules, one more per change
	// share, when set, stores a change of the live rules for the fleet
	// before it applies here (fleet.go). Called with mu held.
	share func(version uint64, live []LiveRule) error
}

// LiveRule is a rule made through the admin API.
type LiveRule struct {
	config.Rule
	Version uint64    `json:"version"`
	By      string    `json:"by"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

type bucketID struct {
	origin, name, policy string
	perSec               float64
	burst                int
}

// NewEngine returns an engine with no rules. rec counts matches (nil: not
// counted); now nil means time.Now.
func NewEngine(log *zap.Logger, rec stats.Recorder, now func() time.Time) *Engine {
	if log == nil {
		log = zap.NewNop()
	}
	if rec == nil {
		rec = stats.Nop{}
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{log: log, rec: stats.RuleRecorderOf(rec), now: now,
		counters: map[string]*Counters{}, buckets: map[bucketID]*limitkey.Buckets{}}
	e.set.Store(&Set{rec: e.rec})
	return e
}

// Current returns the rules in force.
func (e *Engine) Current() *Set { return e.set.Load() }

// Update takes a new config: its rules, and the policies limit rules use.
// The config was validated, so its rules compile.
func (e *Engine) Update(cfg *config.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	e.file = cfg.Rules
	return e.rebuild()
}

// SetLive replaces the live rules (in order). A rule that no longer
// compiles (its policy went away in a reload) is left out and logged.
func (e *Engine) SetLive(live []LiveRule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.live = append([]LiveRule(nil), live...)
	return e.rebuild()
}

// Live returns the live rules.
func (e *Engine) Live() []LiveRule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]LiveRule(nil), e.live...)
}

// Config returns the config the engine was last given.
func (e *Engine) Config() *config.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// rebuild compiles file and live rules into a new Set. Called with mu held.
func (e *Engine) rebuild() error {
	if e.cfg == nil {
		return nil
	}
	s := &Set{rec: e.rec, netV4: 24, netV6: 48}
	keepC := map[string]*Counters{}
	keepB := map[bucketID]*limitkey.Buckets{}
	names := map[string]bool{}
	add := func(c config.Rule, origin string, lr *LiveRule) error {
		if names[c.Name] {
			return fmt.Errorf("rule %q: a rule of that name runs already", c.Name)
		}
		r, err := compileRule(c)
		if err != nil {
			return fmt.Errorf("rule %q: %w", c.Name, err)
		}
		r.Origin = origin
		if lr != nil {
			r.Version, r.Expires, r.By = lr.Version, lr.Expires, lr.By
		}
		if r.action == Limit {
			p := e.cfg.Limits[c.Limit]
			if p == nil {
				return fmt.Errorf("rule %q: unknown policy %q", c.Name, c.Limit)
			}
			id := bucketID{origin, c.Name, c.Limit, p.Rate.PerSecond(), p.Burst}
			b := e.buckets[id]
			if b == nil {
				b = limitkey.NewBuckets(id.perSec, id.burst)
			}
			keepB[id], r.limit = b, b
		}
		ck := origin + "/" + c.Name
		cn := e.counters[ck]
		if cn == nil {
			cn = new(Counters)
		}
		keepC[ck], r.stats = cn, cn
		names[c.Name] = true
		e.rec.DeclareRule(c.Name, c.Action)
		s.rules = append(s.rules, r)
		return nil
	}
	now := e.now()
	fileNames := map[string]bool{}
	for _, c := range e.file {
		fileNames[c.Name] = true
	}
	for i := range e.live {
		lr := &e.live[i]
		if !lr.Expires.IsZero() && !now.Before(lr.Expires) {
			continue
		}
		if fileNames[lr.Name] {
			e.log.Warn("live rule left out: the config file has a rule of that name", zap.String("rule", lr.Name))
			continue
		}
		if err := add(lr.Rule, OriginLive, lr); err != nil {
			e.log.Warn("live rule left out", zap.Error(err))
		}
	}
	for _, c := range e.file {
		if err := add(c, OriginFile, nil); err != nil {
			return err
		}
	}
	e.counters, e.buckets = keepC, keepB
	e.set.Store(s)
	return nil
}

// FileRuleNamed reports whether the config file has a rule called name.
func (e *Engine) FileRuleNamed(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.file {
		if r.Name == name {
			return true
		}
	}
	return false
}
