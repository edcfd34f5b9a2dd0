package router

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A live rule added through /admin/api/rules applies at once, is listed
// with its origin and counter beside the file's, is validated like the
// file's rules, and stops when removed.
func TestLiveRulesThroughTheAdminAPI(t *testing.T) {
	be := namedBackend(t, "app")
	srv, base := startRouter(t, `
backends:
  app: {targets: [`+be.URL+`]}
routes:
  - {match: {path_prefix: /}, backend: app}
rules:
  - {name: file-tag, when: 'request.path == "/tagged"', action: tag}
`)
	admin := "http://" + srv.AdminAddr().String() + "/admin/api/rules"
	do := func(method, url, body string) (int, string) {
		r, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 8192)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if c, body := do("POST", admin, `{"name":"bad","when":"request.nope == 1","action":"deny"}`); c != 400 || !strings.Contains(body, "rule.when: undeclared reference") {
		t.Fatalf("bad rule: %d %s", c, body)
	}
	if c, body := do("POST", admin, `{"name":"file-tag","when":"true","action":"deny"}`); c != 409 {
		t.Fatalf("file rule's name: %d %s", c, body)
	}
	if c, _, _ := get(t, nil, "GET", base+"/wp-login.php", "", nil); c != 200 {
		t.Fatalf("before the rule: %d", c)
	}
	if c, body := do("POST", admin, `{"name":"wp","when":"request.path.startsWith(\"/wp-\")","action":"deny","status":410,"ttl":"1h"}`); c != 201 {
		t.Fatalf("add: %d %s", c, body)
	}
	for range 3 {
		if c, _, _ := get(t, nil, "GET", base+"/wp-login.php", "", nil); c != 410 {
			t.Fatalf("with the rule: %d", c)
		}
	}
	c, body := do("GET", admin, "")
	var list struct {
		Rules []struct {
			Name, Origin, By string
			Matches          uint64
			Version          uint64
		}
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || c != 200 || len(list.Rules) != 2 {
		t.Fatalf("list: %d %s %v", c, body, err)
	}
	if r := list.Rules[0]; r.Name != "wp" || r.Origin != "live" || r.Matches != 3 || r.By != "loopback" || r.Version != 1 {
		t.Fatalf("live rule listed as %+v", r)
	}
	if r := list.Rules[1]; r.Name != "file-tag" || r.Origin != "file" {
		t.Fatalf("file rule listed as %+v", r)
	}
	if c, body := do("PUT", admin, `{"name":"wp","when":"request.path.startsWith(\"/wp-\")","action":"deny","status":404}`); c != 200 {
		t.Fatalf("replace: %d %s", c, body)
	}
	if c, _, _ := get(t, nil, "GET", base+"/wp-login.php", "", nil); c != 404 {
		t.Fatalf("with the replaced rule: %d", c)
	}
	if c, body := do("DELETE", admin+"?name=wp", ""); c != 200 {
		t.Fatalf("remove: %d %s", c, body)
	}
	if c, _, _ := get(t, nil, "GET", base+"/wp-login.php", "", nil); c != 200 {
		t.Fatalf("after removal: %d", c)
	}
}
