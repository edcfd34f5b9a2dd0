package config

import (
	"net"
	"net/url"
	"os"
	"strconv"
)

// limitStore checks limit_store's address keys: a URL (optional with
// Sentinel), cluster seeds, sentinel addresses, the CA file and the mode.
func (v *validator) limitStore(s *LimitStore) {
	if s.URL != "" || s.Sentinel == nil {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			v.fail("limit_store.url", "invalid URL %q (want redis://host:port/db)", s.URL)
		} else if u.Query().Has("addr") && !s.Cluster {
			v.fail("limit_store.url", "addr= seeds need cluster: true")
		}
	}
	for i, a := range s.Addrs {
		if !hostPort(a) {
			v.fail("limit_store.addrs["+strconv.Itoa(i)+"]", "invalid address %q (want host:port)", a)
		}
	}
	if len(s.Addrs) > 0 && !s.Cluster {
		v.fail("limit_store.addrs", "seed addresses need cluster: true")
	}
	if sn := s.Sentinel; sn != nil {
		if s.Cluster {
			v.fail("limit_store.sentinel", "cluster and sentinel exclude each other")
		}
		if sn.MasterName == "" {
			v.fail("limit_store.sentinel.master_name", "required")
		}
		if len(sn.Addrs) == 0 {
			v.fail("limit_store.sentinel.addrs", "at least one sentinel is required")
		}
		for i, a := range sn.Addrs {
			if !hostPort(a) {
				v.fail("limit_store.sentinel.addrs["+strconv.Itoa(i)+"]", "invalid address %q (want host:port)", a)
			}
		}
	}
	if s.CAFile != "" {
		if _, err := os.Stat(s.CAFile); err != nil {
			v.fail("limit_store.ca_file", "%v", err)
		}
	}
	switch s.Mode {
	case "exact", "lease":
	default:
		v.fail("limit_store.mode", "unknown value %q (want exact or lease)", s.Mode)
	}
}

func hostPort(a string) bool {
	h, p, err := net.SplitHostPort(a)
	if err != nil || h == "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}
