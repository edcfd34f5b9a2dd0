package router

import (
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/limitkey"
	"github.com/bulwark-router/bulwark/ratelimit/redisstore"
	"go.uber.org/zap"
)

// keyStore decides keyed buckets and per-value auth failures through the
// limit store, so a fleet shares one bucket per value (an account).
// Built at start; nil without limit_store.
type keyStore struct {
	s       *limitkey.Shared
	onError string // limit_store.on_error: local (""), allow or deny
}

// openKeyStore connects the keyed buckets to cfg's limit store. Without a
// shared abuse.key_secret_file the values' hashes differ from router to
// router, so the buckets stay on each router. Read at start only.
func (rt *Router) openKeyStore(cfg *config.Config) error {
	if cfg.LimitStore == nil {
		return nil
	}
	if cfg.Abuse.KeySecret == "" {
		rt.log.Warn("keyed limits stay on this router: sharing them needs abuse.key_secret_file")
		return nil
	}
	timeout := cfg.LimitStore.Timeout.D()
	rdb, err := redisstore.NewClient(cfg.LimitStore, timeout)
	if err != nil {
		return err
	}
	rt.keys = &keyStore{s: limitkey.NewShared(rdb, timeout), onError: cfg.LimitStore.OnError}
	return nil
}

// takeKey spends a token of key under k: through the store when there is
// one (its failure answered as limit_store.on_error says), else here.
func (rt *Router) takeKey(k *keyedLimit, key uint64, now time.Time) (bool, time.Duration) {
	if ks := rt.keys; ks != nil {
		ok, wait, err := ks.s.Take(k.policy, key, k.perSec, k.burst)
		if err == nil {
			return ok, wait
		}
		if fallback, ok := rt.keyStoreFailed(err); !fallback {
			return ok, time.Second
		}
	}
	return k.buckets.Take(key, now.UnixNano())
}

// takeKeyFailure counts an auth failure against value key under k.
func (rt *Router) takeKeyFailure(k *keyedLimit, key uint64, now time.Time) {
	if ks := rt.keys; ks != nil {
		if _, _, err := ks.s.Take("auth "+k.policy, key, k.failPerSec, k.failBurst); err == nil {
			return
		}
		rt.log.Debug("limit store: auth failure counted here only")
	}
	k.fails.Take(key, now.UnixNano())
}

// keyFailuresSpent reports whether value key has used up its auth
// failures under k (fleet-wide with a store).
func (rt *Router) keyFailuresSpent(k *keyedLimit, key uint64, now time.Time) bool {
	if ks := rt.keys; ks != nil {
		empty, err := ks.s.Empty("auth "+k.policy, key, k.failPerSec, k.failBurst)
		if err == nil {
			return empty
		}
		if fallback, ok := rt.keyStoreFailed(err); !fallback {
			return !ok
		}
	}
	return k.fails.Empty(key, now.UnixNano())
}

// keyStoreFailed logs a store failure and says what decides instead:
// fallback (the local buckets), else allow (ok) or deny.
func (rt *Router) keyStoreFailed(err error) (fallback, ok bool) {
	if ce := rt.log.Check(zap.DebugLevel, "limit store: keyed bucket"); ce != nil {
		ce.Write(zap.Error(err))
	}
	switch rt.keys.onError {
	case "allow":
		return false, true
	case "deny":
		return false, false
	}
	return true, false
}
