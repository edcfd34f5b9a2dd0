package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/internal/testutil"
)

// stuffingConfig limits the login route per account (the JSON body's
// user field), not per address. Reputation comes fast so the test's real
// users are known clients within a second; /whoami tells a test when.
const stuffingConfig = `
listen: %s
admin: {listen: ""}
log: {access: false, level: error}
client_ip: {trusted_proxies: [127.0.0.1/32]}
backends:
  app: {targets: ["http://%s"]}
routes:
  - {match: {path: /login}, backend: app, limit: accounts}
  - {backend: app, limit: none}
limits:
  accounts: {rate: 30/m, burst: 10, key: json:user, key_fold: lower}
abuse:
  reputation: {known_after_good: 3, known_after_age: 1s}
rules:
  - {name: whoami-known, when: 'request.path == "/whoami" && client.class == "known"', action: deny, status: 418}
`

// loginTry is one login attempt: from a client address, for an account.
type loginTry struct {
	from, user, pass string
	real             bool
}

// TestCredentialStuffingAndSpray: 5,000 addresses try 200 accounts with
// a JSON body, and a spray tries 2,000 accounts, against a login backend
// answering 401/200, while 20 real users (known clients of their
// accounts) log in. With the account-keyed policy each account gets at
// most its bucket's worth of attackers' tries, and the real users keep at
// least 99.5% success.
func TestCredentialStuffingAndSpray(t *testing.T) {
	addr, baddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	startBackend(t, "app", baddr, "")
	startBulwark(t, "login", addr, fmt.Sprintf(stuffingConfig, addr, baddr))
	base := "http://" + addr
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	send := func(method, path, from, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("X-Forwarded-For", from)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// The real users become known clients: good answers, then time.
	users := make([]string, 20)
	for i := range users {
		users[i] = fmt.Sprintf("10.200.0.%d", i+1)
		for range 3 {
			send("GET", "/", users[i], "")
		}
	}
	for _, u := range users {
		eventually(t, 5*time.Second, 50*time.Millisecond, u+" does not become known", func() bool {
			return send("GET", "/whoami", u, "") == http.StatusTeapot
		})
	}

	var tries []loginTry
	rng := rand.New(rand.NewPCG(1, 2))
	for a := range 5000 { // stuffing: 5,000 addresses, 200 accounts, 2 tries each
		from := fmt.Sprintf("172.%d.%d.%d", 16+a/65536, a/256%256, a%256+0)
		for range 2 {
			u := fmt.Sprintf("user%03d@example.org", rng.IntN(200))
			tries = append(tries, loginTry{from: from, user: u, pass: fmt.Sprintf("guess%d", rng.IntN(1000))})
		}
	}
	for a := range 2000 { // spray: one common password across 2,000 accounts
		tries = append(tries, loginTry{from: fmt.Sprintf("198.18.%d.%d", a/256, a%256), user: fmt.Sprintf("Spray%04d@Example.org", a), pass: "Summer2026!"})
	}
	for i, u := range users { // the real users: their own accounts, right password
		for range 10 {
			acct := fmt.Sprintf("user%03d@example.org", i*10)
			tries = append(tries, loginTry{from: u, user: acct, pass: "good-" + acct, real: true})
		}
	}
	rng.Shuffle(len(tries), func(i, j int) { tries[i], tries[j] = tries[j], tries[i] })

	var mu sync.Mutex
	admitted := map[string]int{} // attackers' tries per account that reached the backend
	realOK, realAll := 0, 0
	start := time.Now()
	work := make(chan loginTry)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for tr := range work {
				code := send("POST", "/login", tr.from, fmt.Sprintf(`{"user":%q,"pass":%q}`, tr.user, tr.pass))
				mu.Lock()
				switch {
				case tr.real:
					realAll++
					if code == 200 {
						realOK++
					}
				case code == 200 || code == 401:
					admitted[strings.ToLower(tr.user)]++
				}
				mu.Unlock()
			}
		})
	}
	for _, tr := range tries {
		work <- tr
	}
	close(work)
	wg.Wait()
	el := time.Since(start)

	// Per account: the burst, and the rate over the run.
	limit := 10 + int(el.Minutes()*30) + 1
	worst := 0
	for _, n := range admitted {
		worst = max(worst, n)
	}
	t.Logf("%d tries in %v; attackers' tries admitted per account: at most %d (limit %d); real users %d/%d",
		len(tries), el.Round(time.Millisecond), worst, limit, realOK, realAll)
	if worst > limit {
		t.Errorf("an account got %d attackers' tries, over its policy's %d", worst, limit)
	}
	if float64(realOK) < 0.995*float64(realAll) {
		t.Errorf("real users succeeded %d of %d times, under 99.5%%", realOK, realAll)
	}
}
