package e2e

import (
	"bufio"
	"context"
	"fmt"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chromiumPath = "/usr/bin/chromium"

// TestAdminPageInBrowser loads /admin/ in headless Chromium (driven by
// playwright-core from testdata/npm) in front of a real bulwark and a real
// backend process, and watches the page follow what happens: both backends
// up and a flooding client banned; the backend process killed, so the
// health-checked backend turns down and the other's breaker opens; the ban
// lifted with the page's button. Screenshots go to $ARTIFACTS (or a temp
// dir, logged) and, outside CI, to artifacts/admin-browser/ in the repo.
func TestAdminPageInBrowser(t *testing.T) {
	root := repoRoot(t)
	node := browserPrereqs(t, root)

	addr, raddr, aaddr := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	backend := startBackend(t, "app", addr, "")
	startBulwark(t, "router", raddr, fmt.Sprintf(`
listen: %s
admin: {listen: %s}
log: {access: false}
client_ip: {trusted_proxies: [127.0.0.1/32]}
limits:
  flood: {rate: 1/m, burst: 1}
abuse:
  ban: {after_rejections: 3, within: 1m, duration: 10m}
backends:
  web:
    targets: [http://%[3]s]
    health: {path: /__heartbeat__, interval: 200ms, timeout: 200ms, rise: 1, fall: 1}
  api:
    targets: [http://%[3]s]
    retries: 0
    connect_timeout: 300ms
    breaker: {consecutive_failures: 3, failure_ratio: 0, open_for: 1m}
routes:
  - {match: {path_prefix: /flood}, backend: web, limit: flood}
  - {match: {path_prefix: /api/}, backend: api}
  - {backend: web}
rules:
  - {name: api-tag, when: 'request.path.startsWith("/api/")', action: tag}
`, raddr, aaddr, addr))

	// A flood from one client: one request passes, three are refused and
	// the third refusal bans it.
	codes := send(t, "http://"+raddr+"/flood", "10.1.1.1", 5)
	if codes[200] != 1 || codes[429] != 3 || codes[403] != 1 {
		t.Fatalf("flood answered %v, want 1×200, 3×429, 1×403", codes)
	}
	send(t, "http://"+raddr+"/api/x", "10.2.2.2", 3)

	shots := artifactsDir(t)
	script := filepath.Join(t.TempDir(), "admin_page.js")
	if err := os.WriteFile(script, []byte(adminPageScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(),
		"PLAYWRIGHT_CORE="+filepath.Join(root, "testdata", "npm", "node_modules", "playwright-core"),
		"CHROMIUM="+chromiumPath, "ADMIN_URL=http://"+aaddr+"/admin/", "SHOTS="+shots)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	}()

	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		t.Helper()
		for lines.Scan() {
			line := lines.Text()
			t.Logf("page: %s", line)
			if strings.HasPrefix(line, "FAIL") {
				t.Fatalf("browser script: %s\n%s", line, stderr.String())
			}
			if line == want {
				return
			}
		}
		t.Fatalf("browser script ended before %q: %v\n%s", want, lines.Err(), stderr.String())
	}

	expect("UP")
	backend.kill(t)
	// The api backend has no health check: requests find the port closed
	// and its breaker opens after three failures.
	codes = send(t, "http://"+raddr+"/api/x", "10.2.2.2", 4)
	if codes[502] != 3 || codes[503] != 1 {
		t.Fatalf("api after the kill answered %v, want 3×502 then 503", codes)
	}
	io.WriteString(stdin, "killed\n")
	expect("DOWN")
	expect("LIFTED")

	// The page's button really lifted the ban.
	if c := send(t, "http://"+raddr+"/", "10.1.1.1", 1); c[403] != 0 {
		t.Errorf("client still banned after the page lifted it: %v", c)
	}
	for _, name := range []string{"1-up.png", "2-down.png", "3-lifted.png"} {
		if fi, err := os.Stat(filepath.Join(shots, name)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
	keepLocalCopy(t, root, shots)
}

// send makes n GETs as client and counts the answers by status.
func send(t *testing.T, url, client string, n int) map[int]int {
	t.Helper()
	return testutil.GetAs(t, &http.Client{Timeout: 5 * time.Second}, url, client, n)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// browserPrereqs finds node and Chromium and installs playwright-core into
// testdata/npm when it is missing. Without node or Chromium the test is
// skipped, unless CI=true.
func browserPrereqs(t *testing.T, root string) (node string) {
	t.Helper()
	missing := func(what string, err error) {
		testutil.SkipOrFail(t, "%s: %v", what, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node", err)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("chromium", err)
	}
	dir := filepath.Join(root, "testdata", "npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			missing("npm", err)
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			missing("npm ci in testdata/npm", fmt.Errorf("%v\n%s", err, out))
		}
	}
	return node
}

// artifactsDir is $ARTIFACTS/admin-browser, or a temp dir; it is logged.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "admin-browser")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// keepLocalCopy copies the screenshots to ROOT/artifacts/admin-browser
// (ignored by git) when not in CI.
func keepLocalCopy(t *testing.T, root, dir string) {
	if testutil.CI() {
		return
	}
	dst := filepath.Join(root, "artifacts", "admin-browser")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Log(err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
		}
	}
	t.Logf("screenshots copied to %s", dst)
}

// adminPageScript drives the page. It prints UP, DOWN and LIFTED as it
// sees each state (FAIL and a reason when it does not), and waits for
// "killed" on stdin between UP and DOWN.
const adminPageScript = `
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const readline = require("readline");
const rl = readline.createInterface({ input: process.stdin });
const lines = [];
let waiter = null;
rl.on("line", l => { lines.push(l); if (waiter) waiter(); });
const nextLine = () => new Promise(res => {
  if (lines.length) return res(lines.shift());
  waiter = () => { waiter = null; res(lines.shift()); };
});
const shots = process.env.SHOTS;
// Functions, not strings: the page's CSP forbids eval.
const textIs = (page, pairs) => page.waitForFunction(ps => ps.every(([sel, want]) => {
  const e = document.querySelector(sel);
  return e && e.textContent === want;
}), pairs, { timeout: 15000 });

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM, headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", e => console.log("pageerror " + e.message));
    await page.goto(process.env.ADMIN_URL);
    const status = name => 'tr.backend[data-name="' + name + '"] td:nth-child(2) .st';
    const breaker = name => 'tr.backend[data-name="' + name + '"] td.breaker .st';
    await textIs(page, [[status("web"), "up"], [status("api"), "up"], [breaker("api"), "closed"]]);
    await page.waitForSelector('tr.banned[data-client="10.1.1.1"] button.lift', { timeout: 15000 });
    // The rules table counts the three /api/ requests.
    await textIs(page, [['tr[data-rule="api-tag"] td:nth-child(6)', "3"]]);
    await page.screenshot({ path: shots + "/1-up.png", fullPage: true });
    console.log("UP");

    if (await nextLine() !== "killed") throw new Error("expected killed");
    // web's breaker stays closed: its target failed its health checks.
    await textIs(page, [[status("web"), "targets down"], [breaker("web"), "closed"]]);
    await textIs(page, [[breaker("api"), "open"], [status("api"), "breaker open"]]);
    await page.screenshot({ path: shots + "/2-down.png", fullPage: true });
    console.log("DOWN");

    await page.click('tr[data-client="10.1.1.1"] button.lift');
    await page.waitForFunction(() => !document.querySelector('tr.banned[data-client="10.1.1.1"]'), null, { timeout: 15000 });
    // And it stays lifted after the next refresh from the server.
    const stamp = await page.evaluate(() => document.body.dataset.updated);
    await page.waitForFunction(s => document.body.dataset.updated !== s, stamp, { timeout: 15000 });
    if (await page.$('tr.banned[data-client="10.1.1.1"]')) throw new Error("ban back after refresh");
    await page.screenshot({ path: shots + "/3-lifted.png", fullPage: true });
    console.log("LIFTED");
  } catch (e) {
    console.log("FAIL " + e.message.split("\n")[0]);
  } finally {
    await browser.close();
    rl.close();
  }
})();
`
