package ratelimit

import (
	"errors"
	"math/bits"
	"time"
)

// Option configures an Admission beyond what the config file says.
type Option func(*options) error

type options struct {
	now       func() time.Time
	sweep     time.Duration
	idle      time.Duration
	shards    int
	seed      uint64
	rep       repParams
	attack    attackParams
	revs      Revocations // nil: a LocalRevocations
	stateFile string
}

func defaultOptions() options {
	return options{now: time.Now, sweep: time.Second, idle: 30 * time.Second,
		rep:    repParams{good: DefaultKnownAfterGood, age: int64(DefaultKnownAfterAge)},
		attack: defaultAttackParams()}
}

// WithClock sets the clock the sweeper, Lift, Bans and Snapshot read.
// Admit and Done take their instant as an argument. Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("ratelimit: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithSweepInterval sets how often the sweeper expires idle records and
// reports TrackedClients and BansActive. 0 starts no sweeper (tests drive
// the table by hand). Default 1s.
func WithSweepInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("ratelimit: negative sweep interval")
		}
		o.sweep = d
		return nil
	}
}

// WithIdleTTL sets how long a record with nothing worth keeping (full
// buckets, no ban, no counters) stays after its client's last request.
// Default 30s.
func WithIdleTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return errors.New("ratelimit: negative idle TTL")
		}
		o.idle = d
		return nil
	}
}

// WithShards sets the number of table shards, a power of two up to 4096.
// Default: one per 512 tracked clients, between 1 and 256.
func WithShards(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 4096 || bits.OnesCount(uint(n)) != 1 {
			return errors.New("ratelimit: shards must be a power of two between 1 and 4096")
		}
		o.shards = n
		return nil
	}
}

// WithSeed fixes the hash seed (default random), for reproducible tests.
func WithSeed(seed uint64) Option {
	return func(o *options) error {
		o.seed = seed
		return nil
	}
}
