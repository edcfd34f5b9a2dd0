package redisstore

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/redis/go-redis/v9"
)

// newClient builds the go-redis client c describes: a single server, a
// Redis Cluster (cluster: true; seeds from the URL, its addr= parameters
// and addrs) or a Sentinel-managed primary. Every command is bounded by
// timeout and never retried (a retry would double a dead server's cost).
func newClient(c *config.LimitStore, timeout time.Duration) (redis.UniversalClient, error) {
	switch {
	case c.Sentinel != nil:
		o := &redis.FailoverOptions{MasterName: c.Sentinel.MasterName, SentinelAddrs: c.Sentinel.Addrs}
		if c.URL != "" {
			u, err := redis.ParseURL(c.URL)
			if err != nil {
				return nil, fmt.Errorf("limit_store.url: %w", err)
			}
			o.Username, o.Password, o.DB, o.TLSConfig = u.Username, u.Password, u.DB, u.TLSConfig
			if o.TLSConfig != nil {
				o.TLSConfig.ServerName = "" // the primary moves: the CA decides
			}
		}
		if err := withCA(&o.TLSConfig, c.CAFile); err != nil {
			return nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries, o.DialerRetries = -1, 1
		o.ContextTimeoutEnabled, o.DisableIdentity = true, true
		o.MinIdleConns = batchers
		return redis.NewFailoverClient(o), nil
	case c.Cluster:
		o, err := redis.ParseClusterURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("limit_store.url: %w", err)
		}
		o.Addrs = append(o.Addrs, c.Addrs...)
		if err := withCA(&o.TLSConfig, c.CAFile); err != nil {
			return nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries, o.DialerRetries = -1, 1
		o.ContextTimeoutEnabled, o.DisableIdentity = true, true
		// A failover moves slots: look again soon, not every 10s.
		o.ClusterStateReloadInterval = time.Second
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("limit_store.url: %w", err)
	}
	if err := withCA(&o.TLSConfig, c.CAFile); err != nil {
		return nil, err
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
	o.MaxRetries = -1   // a retry would double a dead server's cost
	o.DialerRetries = 1 // so would a second dial
	o.ContextTimeoutEnabled = true
	o.MinIdleConns = batchers // dialled ahead of the first decision
	o.DisableIdentity = true
	return redis.NewClient(o), nil
}

// withCA makes *tc (set by a rediss:// URL) trust only the CAs in file.
// A CA file without rediss:// turns TLS on.
func withCA(tc **tls.Config, file string) error {
	if file == "" {
		return nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("limit_store.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("limit_store.ca_file: no PEM certificate in %s", file)
	}
	if *tc == nil {
		*tc = &tls.Config{}
	}
	(*tc).RootCAs = pool
	(*tc).MinVersion = tls.VersionTLS12
	return nil
}
