package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"github.com/bulwark-router/bulwark/internal/testutil"
)

// TestFleetAdminBan: a ban posted to one router's admin API refuses the
// client there at once and on the other router of the fleet within a
// second; lifting it on the first frees the client on both. The change is
// audited under the named token that made it.
func TestFleetAdminBan(t *testing.T) {
	srv := redistest.Start(t)
	baddr, r1, r2, adm := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	tokenFile := filepath.Join(t.TempDir(), "alice.token")
	if err := os.WriteFile(tokenFile, []byte("alice-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withAdmin := strings.Replace(fleetConfig(r1, baddr, srv.URL(), ""), `admin: {listen: ""}`,
		fmt.Sprintf("admin: {listen: %q, tokens: [{name: alice, token_file: %q}]}", adm, tokenFile), 1)
	p1 := startBulwark(t, "r1", r1, withAdmin)
	startBulwark(t, "r2", r2, fleetConfig(r2, baddr, srv.URL(), ""))

	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	get := func(addr string) int {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	admin := func(method, path, body string) (int, string) {
		return adminDo(t, c, "alice-token-0123456789", method, "http://"+adm+path, body)
	}
	if a, b := get(r1), get(r2); a != 200 || b != 200 {
		t.Fatalf("before the ban: %d %d", a, b)
	}

	if code, body := admin("POST", "/admin/api/bans", `{"client": "127.0.0.1", "duration": "5m", "reason": "e2e"}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	if code := get(r1); code != 403 {
		t.Fatalf("r1 after the ban: %d", code)
	}
	took := eventually(t, time.Second, 10*time.Millisecond, "r2 does not enforce the admin ban within 1s", func() bool {
		return get(r2) == http.StatusForbidden
	})
	t.Logf("r2 enforced the admin ban %v after r1 made it", took)
	_, body := admin("GET", "/admin/api/bans", "")
	var list struct {
		Bans []struct{ Client, Why, Reason, By string }
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Bans) != 1 ||
		list.Bans[0].Why != "admin" || list.Bans[0].Reason != "e2e" || list.Bans[0].By != "alice" {
		t.Fatalf("GET: %s", body)
	}

	if code, body := admin("DELETE", "/admin/api/bans?client=127.0.0.1", ""); code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code := get(r1); code != 200 {
		t.Fatalf("r1 after the lift: %d", code)
	}
	eventually(t, time.Second, 10*time.Millisecond, "r2 does not lift the ban within 1s", func() bool {
		return get(r2) == http.StatusOK
	})

	out := p1.out.tail(64 << 10)
	for _, want := range []string{`"action":"ban"`, `"action":"lift"`} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, `"msg":"admin audit"`) && strings.Contains(line, want) &&
				strings.Contains(line, `"by":"alice"`) && strings.Contains(line, `"client":"127.0.0.1"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit line with %s by alice in r1's log", want)
		}
	}
}
