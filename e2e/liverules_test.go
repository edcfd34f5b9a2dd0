package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// TestFleetLiveRule: during a flood, an operator adds a deny rule through
// one router's admin API; the three routers sharing Redis all apply it
// within a second, its counter shows the flood's matches, and removing it
// stops it everywhere. A document written to Redis without the fleet's
// secret is refused.
func TestFleetLiveRule(t *testing.T) {
	srv := redistest.Start(t)
	baddr, adm := testutil.FreeAddr(t), testutil.FreeAddr(t)
	addrs := []string{testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)}
	startBackend(t, "app", baddr, "")
	dir := t.TempDir()
	tokenFile, secretFile := filepath.Join(dir, "ops.token"), filepath.Join(dir, "key.secret")
	for f, v := range map[string]string{tokenFile: "ops-token-0123456789\n", secretFile: "fleet-secret-0123456789\n"} {
		if err := os.WriteFile(f, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	extra := fmt.Sprintf("client_ip: {trusted_proxies: [127.0.0.1/32]}\nabuse: {key_secret_file: %q}\n", secretFile)
	for i, a := range addrs {
		cfg := fleetConfig(a, baddr, srv.URL(), extra)
		if i == 0 {
			cfg = strings.Replace(cfg, `admin: {listen: ""}`,
				fmt.Sprintf("admin: {listen: %q, tokens: [{name: ops, token_file: %q}]}", adm, tokenFile), 1)
		}
		startBulwark(t, fmt.Sprintf("r%d", i+1), a, cfg)
	}
	var urls []string
	for _, a := range addrs {
		urls = append(urls, "http://"+a+"/flood")
	}
	load := startFleetLoad(t, time.Minute, urls...)
	defer load.Stop()

	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	var n atomic.Int64
	probe := func(addr string) int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/probe", nil)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.1.%d.%d", n.Add(1)/250%250, n.Load()%250+1))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	admin := func(method, path, body string) (int, string) {
		return adminDo(t, c, "ops-token-0123456789", method, "http://"+adm+path, body)
	}
	for _, a := range addrs {
		if code := probe(a); code != 200 {
			t.Fatalf("%s before the rule: %d", a, code)
		}
	}

	// Redis write access alone adds no rule.
	forged := `0000 {"version":99,"rules":[{"name":"forged","when":"true","action":"deny"}]}`
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := rdb.Set(t.Context(), "bulwark:{rules}:live", forged, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if code, body := admin("POST", "/admin/api/rules", `{"name": "go-clients", "when": "request.user_agent.startsWith(\"Go-http-client\")", "action": "deny", "status": 403, "ttl": "10m"}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	start := time.Now()
	for _, a := range addrs {
		took := eventually(t, time.Second-time.Since(start), 10*time.Millisecond, a+" does not apply the rule within 1s of the POST", func() bool {
			return probe(a) == http.StatusForbidden
		})
		t.Logf("%s applies the rule %v after the POST", a, took)
	}
	_, body := admin("GET", "/admin/api/rules", "")
	var list struct {
		Rules []struct {
			Name, Origin, By string
			Matches          uint64
		}
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Rules) != 1 || list.Rules[0].Name != "go-clients" ||
		list.Rules[0].By != "ops" || list.Rules[0].Origin != "live" {
		t.Fatalf("GET: %s", body)
	}
	eventually(t, 2*time.Second, 10*time.Millisecond, "the rule's counter does not show the flood", func() bool {
		_, body := admin("GET", "/admin/api/rules", "")
		json.Unmarshal([]byte(body), &list)
		return len(list.Rules) == 1 && list.Rules[0].Matches > 10
	})
	_, metrics := admin("GET", "/metrics", "")
	if !strings.Contains(metrics, `bulwark_rule_matches_total{action="deny",rule="go-clients"} `) {
		t.Fatalf("no bulwark_rule_matches_total for the live rule")
	}

	if code, body := admin("DELETE", "/admin/api/rules?name=go-clients", ""); code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	start = time.Now()
	for _, a := range addrs {
		eventually(t, time.Second-time.Since(start), 10*time.Millisecond, a+" still applies the removed rule after 1s", func() bool {
			return probe(a) == http.StatusOK
		})
	}
	if load.counts()[http.StatusForbidden] == 0 {
		t.Fatal("the flood never met the rule")
	}
}
