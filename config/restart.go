package config

import (
	"reflect"
	"strings"
)

// RestartOnlyChanges lists, as field paths ("server.read_timeout",
// "limit_store"), the keys that differ between running and next but take
// effect only on restart: the listeners, the server's timeouts and sizes
// (except shutdown_grace and drain_delay, read at drain time), the limit
// store, the reputation and attack thresholds, the token, and the
// challenge but for its share (a queue's, which follows a reload).
// server.path and server.upgrades are read per request and follow a
// reload. Nil when none differ.
func RestartOnlyChanges(running, next *Config) []string {
	var out []string
	diff := func(path string, a, b any) {
		out = appendDiff(out, path, reflect.ValueOf(a), reflect.ValueOf(b))
	}
	diff("listen", running.Listen, next.Listen)
	diff("listen_proxy_protocol", running.ListenProxyProtocol, next.ListenProxyProtocol)
	diff("admin", running.Admin, next.Admin)
	rs, ns := running.Server, next.Server
	rs.ShutdownGrace, rs.DrainDelay, rs.Path, rs.Upgrades = ns.ShutdownGrace, ns.DrainDelay, ns.Path, ns.Upgrades
	diff("server", rs, ns)
	diff("limit_store", running.LimitStore, next.LimitStore)
	diff("abuse.reputation", running.Abuse.Reputation, next.Abuse.Reputation)
	diff("abuse.attack", running.Abuse.Attack, next.Abuse.Attack)
	diff("abuse.token", running.Abuse.Token, next.Abuse.Token)
	rc, nc := running.Abuse.Challenge, next.Abuse.Challenge
	rc.Share = nc.Share
	diff("abuse.challenge", rc, nc)
	return out
}

// appendDiff appends path, or the paths of the struct fields under it that
// differ, when a and b differ.
func appendDiff(out []string, path string, a, b reflect.Value) []string {
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return out
	}
	if a.Kind() != reflect.Struct || isLeaf(a.Type()) {
		return append(out, path)
	}
	for i := range a.NumField() {
		f := a.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out = appendDiff(out, path+"."+tag, a.Field(i), b.Field(i))
	}
	return out
}

// isLeaf reports whether t is written as one value in the file.
func isLeaf(t reflect.Type) bool { return t == reflect.TypeFor[Rate]() }
