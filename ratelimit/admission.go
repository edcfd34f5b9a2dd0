package ratelimit

import (
	"errors"
	"fmt"
	"github.com/bulwark-router/bulwark/ratelimit/internal/sketch"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/stats"
	"go.uber.org/zap"
)

// timeBase offsets the internal clock so that 0 can mean "never" in every
// record field: 0 is about 11.6 days before the Admission was built. It is a
// whole number of seconds so that one-second windows start on the epoch's
// seconds.
const timeBase = int64(1_000_000 * time.Second)

// Admission decides, per client, whether a request may come in: allow and
// deny lists, bans, per-client in-flight caps, overload shedding, token
// buckets per client and per network. Build it with New; it is safe for
// concurrent use. Close stops its sweeper.
type Admission struct {
	rec   stats.Recorder
	log   *zap.Logger
	now   func() time.Time
	epoch time.Time
	seed  uint64
	idle  int64

	shift  uint // hash >> shift picks the shard
	shards []shard
	nets   []netShard
	sketch atomic.Pointer[sketch.Sketch]
	state  atomic.Pointer[state]

	// ov's counters change on every request: keep them off the cache
	// lines of the read-mostly fields above.
	_     [128]byte
	ov    overload
	press pressure // see score.go
	_     [128]byte

	rep       repParams
	attack    attack // flood detection, see attack.go
	gate      logGate
	untracked atomic.Uint64
	dry       [16]atomic.Uint64 // dry-run refusals by stats.Reason

	fleet *fleet // nil without limit_store
	revs  Revocations

	stateFile string     // WithStateFile; "" none
	stateMu   sync.Mutex // serialises SaveState
	stateAt   int64      // last write, time base (the sweeper's)
	manual    manualBans

	mu       sync.Mutex // serialises Update
	policies map[string]*Policy

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New builds an Admission for cfg (which config.Load has validated) and
// starts its sweeper. rec receives refusals, TrackedClients and BansActive;
// nil means stats.Nop. log nil means no logs.
func New(cfg *config.Config, rec stats.Recorder, log *zap.Logger, opts ...Option) (*Admission, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if cfg == nil {
		return nil, errors.New("ratelimit: nil config")
	}
	if rec == nil {
		rec = stats.Nop{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	n := o.shards
	if n == 0 {
		n = 1
		for n < 256 && n*2*512 <= cfg.Abuse.MaxTrackedClients {
			n *= 2
		}
	}
	for n > 1 && n > cfg.Abuse.MaxTrackedClients {
		n /= 2 // every shard holds at least one record
	}
	seed := o.seed
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	a := &Admission{
		rec:      rec,
		log:      log,
		now:      o.now,
		epoch:    o.now(),
		seed:     seed,
		idle:     int64(o.idle),
		shift:    uint(64 - bits.TrailingZeros(uint(n))),
		shards:   make([]shard, n),
		nets:     make([]netShard, n),
		policies: map[string]*Policy{},
		rep:      o.rep,
	}
	a.attack.p = o.attack
	a.revs = o.revs
	if a.revs == nil {
		a.revs = &LocalRevocations{}
	}
	for i := range a.shards {
		a.shards[i].idx.seed = seed
		a.shards[i].rng = hash64(key{uint64(i), seed}, seed) | 1
		a.nets[i].m = map[netKey]int64{}
	}
	a.sketch.Store(sketch.New(cfg.Abuse.MaxTrackedClients))
	a.ov.init()
	if err := a.Update(cfg); err != nil {
		return nil, err
	}
	a.stateFile = o.stateFile
	if a.stateFile != "" {
		if err := a.loadState(); err != nil {
			return nil, fmt.Errorf("abuse.state_file: %w", err)
		}
	}
	if cfg.LimitStore != nil {
		if err := a.openStore(cfg.LimitStore); err != nil {
			return nil, err
		}
	}
	if o.sweep > 0 {
		a.stop, a.done = make(chan struct{}), make(chan struct{})
		go a.run(o.sweep)
	}
	return a, nil
}

// ns converts an instant to the internal time base.
func (a *Admission) ns(t time.Time) int64 {
	d := int64(t.Sub(a.epoch))
	if d <= 1-timeBase {
		return 1
	}
	return d + timeBase
}

// wall converts back from the internal time base.
func (a *Admission) wall(ns int64) time.Time {
	return a.epoch.Add(time.Duration(ns - timeBase))
}

// shard returns k's shard and hash: the top bits pick the shard, the low
// ones the slot in its index.
func (a *Admission) shard(k key) (*shard, uint64) {
	h := hash64(k, a.seed)
	return &a.shards[h>>a.shift], h
}

// Policy returns the limit policy called name, nil for "", "none" or a name
// the config does not define (no limit). Routes without a limit carry
// "default" after config.Load when that policy exists.
func (a *Admission) Policy(name string) *Policy { return a.state.Load().byName[name] }

// spill hands a record's bucket debt to the sketch before the record goes.
func (a *Admission) spill(e *entry, t int64) {
	sk := a.sketch.Load()
	for i, id := range e.pol {
		if id != 0 && e.tat[i] > t {
			sk.Raise(hash64(e.k, tagSeed(a.seed, uint16(id))), e.tat[i])
		}
	}
}

// bucketFor returns the slot of e holding lp's bucket, making one if needed.
// A new bucket starts from the sketch (full unless this client's drained
// bucket was evicted before). When both slots are taken by other policies,
// the one nearer to full goes to the sketch.
func (a *Admission) bucketFor(e *entry, lp *limitParams, t int64) int {
	id := lp.owner.id
	victim := -1
	for i, pid := range e.pol {
		if pid == id {
			return i
		}
		if pid == 0 || e.tat[i] <= t {
			victim = i
		}
	}
	if victim < 0 {
		victim = 0
		for i := range e.tat {
			if e.tat[i] < e.tat[victim] {
				victim = i
			}
		}
		a.sketch.Load().Raise(hash64(e.k, tagSeed(a.seed, uint16(e.pol[victim]))), e.tat[victim])
	}
	sk := a.sketch.Load()
	e.pol[victim] = id
	e.tat[victim] = lp.client.clamp(sk.Get(hash64(e.k, tagSeed(a.seed, uint16(id)))), t)
	return victim
}

// Close stops the sweeper and waits for it, and closes the limit store.
// Admission keeps answering afterwards, without proactive expiry (and by
// limit_store.on_error where a store was used).
func (a *Admission) Close() error {
	a.closeOnce.Do(func() {
		if a.stop != nil {
			close(a.stop)
			<-a.done
		}
		if err := a.SaveState(); err != nil {
			a.log.Error("state file not written", zap.String("file", a.stateFile), zap.Error(err))
		}
		if a.fleet != nil {
			a.fleet.s.Close()
		}
	})
	return nil
}
