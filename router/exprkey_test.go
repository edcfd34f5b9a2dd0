package router

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bulwark-router/bulwark/config"
)

// A policy keyed by an expression limits what the expression gives: here
// a tenant header with the account of the JSON body, lower-cased. A
// request it gives nothing for is limited per client ("missing").
func TestExprKeyLimitsItsValue(t *testing.T) {
	be := httptestHandler(t, func(w http.ResponseWriter, r *http.Request) {})
	_, base := startRouter(t, `
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path: /login}, backend: app, limit: tenant-user}
limits:
  tenant-user:
    rate: 1/h
    burst: 1
    key_fold: lower
    key: 'expr:request.headers["x-tenant"] + "/" + request.json["user"]'
`)
	post := func(from, tenant, body string) int {
		h := []string{"X-Forwarded-For", from}
		if tenant != "" {
			h = append(h, "X-Tenant", tenant)
		}
		return sendFor(t, "POST", base+"/login", body, h...)
	}
	tests := []struct {
		from, tenant, body string
		want               int
	}{
		{"198.51.100.1", "acme", `{"user":"Alice"}`, 200},
		{"198.51.100.2", "ACME", `{"user":"alice"}`, 429},  // same key, another address
		{"198.51.100.2", "other", `{"user":"alice"}`, 200}, // another tenant
		{"198.51.100.3", "", `{"user":"alice"}`, 200},      // no tenant: this client's missing key
		{"198.51.100.3", "", `{"user":"bob"}`, 429},        // and only one of those
		{"198.51.100.4", "", `{}`, 200},                    // another client's missing key
	}
	for i, tt := range tests {
		if c := post(tt.from, tt.tenant, tt.body); c != tt.want {
			t.Errorf("%d: %s %s %s: %d, want %d", i, tt.from, tt.tenant, tt.body, c, tt.want)
		}
	}
}

// An expr: key is type-checked when the config loads: it must give a
// string, and its names must exist.
func TestExprKeyConfigErrors(t *testing.T) {
	for give, want := range map[string]string{
		`expr:1 + 1`:             "limits.p.key: expr: must be a string, not int",
		`expr:request.nope`:      "limits.p.key: expr: undeclared reference",
		`expr:`:                  "limits.p.key: expr: wants an expression",
		`expr:client.network`:    "",
		`expr:request.form["x"]`: "",
	} {
		_, err := config.Load([]byte("backends:\n  app: {targets: [http://127.0.0.1:1]}\nroutes:\n  - {backend: app, limit: p}\nlimits:\n  p: {rate: 1/s, key: '" + give + "'}\n"))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", give, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", give, err, want)
		}
	}
}
