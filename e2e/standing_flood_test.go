package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The standing flood (issue 18's scenario), with the shipped reputation
// defaults, the router and the app as processes:
//
//   - the app: testbackend with 8 slots of 10ms (800 requests/s);
//   - 20 regulars (10 requests/s each, keeping cookies) served for warm
//     before the flood;
//   - the flood: a generator process sending as fast as it can, each
//     request a new connection from the next of bots loopback addresses
//     (127.10.x.y, no cookies), plus slowloris connections;
//   - 10 latecomers (with cookies) arriving 3s into the flood;
//   - 5 movers: regulars whose address changes in the middle of the flood;
//   - 50 users behind one NAT address, each keeping its own cookies;
//   - the router restarted (SIGTERM, start again) in the middle of the
//     flood, with abuse.state_file: a ban and the regulars' standing stay.
//
// With taskset, the load (the generator's process and the test process,
// whose goroutines are the users) runs on core 0, the router and the app
// on core 1, as separate client machines would. BULWARK_FLOOD_FULL=1 runs
// the full scenario and asserts its targets; without it, a shorter
// one whose assertions hold on a loaded machine: ratios and the order of
// the classes, no latency bounds.
type standingPlan struct {
	full                 bool
	warm, flood          time.Duration
	lateAt, moveAt       time.Duration // since the flood began
	restartAt            time.Duration
	bots, slowloris, gen int // addresses, connections, generator workers
	// botCookies: the bots keep the challenge's cookie, as bots built to
	// pass it would (they then rank with the latecomers).
	botCookies bool
}

func standingPlanFor() standingPlan {
	if os.Getenv("BULWARK_FLOOD_FULL") == "1" {
		return standingPlan{full: true, warm: 10 * time.Second, flood: 20 * time.Second,
			lateAt: 3 * time.Second, moveAt: 6 * time.Second, restartAt: 12 * time.Second,
			bots: 10000, slowloris: 500, gen: 64}
	}
	return standingPlan{warm: 7 * time.Second, flood: 10 * time.Second,
		lateAt: 3 * time.Second, moveAt: 4 * time.Second, restartAt: 6 * time.Second,
		bots: 2000, slowloris: 100, gen: 16}
}

const standingConfig = `
listen: %s
admin: {listen: %s}
log: {access: false}
server: {shutdown_grace: 2s}
backends:
  app:
    targets: [http://%s]
    max_in_flight: 8
    queue: {max_len: 100, max_wait: 100ms}
routes:
  - match: {path_prefix: /}
    backend: app
abuse:
  state_file: %s
`

// pinned returns the command line running bin on core cpu when taskset is
// there.
func pinned(cpu string, bin string, args ...string) (string, []string) {
	if ts, err := exec.LookPath("taskset"); err == nil {
		return ts, append([]string{"-c", cpu, bin}, args...)
	}
	return bin, args
}

// pinSelf runs every thread of the test process on core cpu until the test
// ends, when taskset is there.
func pinSelf(t *testing.T, cpu string) {
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return
	}
	pid := strconv.Itoa(os.Getpid())
	out, err := exec.Command(ts, "-p", pid).Output()
	_, mask, ok := strings.Cut(strings.TrimSpace(string(out)), ": ")
	if err != nil || !ok {
		t.Fatalf("taskset -p %s: %v %q", pid, err, out)
	}
	if out, err := exec.Command(ts, "-a", "-p", "-c", cpu, pid).CombinedOutput(); err != nil {
		t.Fatalf("taskset: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ts, "-a", "-p", mask, pid).CombinedOutput(); err != nil {
			t.Errorf("taskset: %v\n%s", err, out)
		}
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// standingUser is one measured user: its own address (which may change)
// and, when it keeps cookies, its own jar.
type standingUser struct {
	class string
	addr  atomic.Pointer[net.TCPAddr]
	tr    *http.Transport
	c     *http.Client
}

func newStandingUser(class, ip string, cookies bool) *standingUser {
	u := &standingUser{class: class}
	u.addr.Store(&net.TCPAddr{IP: net.ParseIP(ip)})
	u.tr = &http.Transport{MaxIdleConnsPerHost: 1, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: u.addr.Load(), Timeout: time.Second}
		return d.DialContext(ctx, network, addr)
	}}
	u.c = &http.Client{Transport: u.tr, Timeout: 3 * time.Second}
	if cookies {
		u.c.Jar, _ = cookiejar.New(nil)
	}
	return u
}

// move gives the user a new address: its next request comes from there.
func (u *standingUser) move(ip string) {
	u.addr.Store(&net.TCPAddr{IP: net.ParseIP(ip)})
	u.tr.CloseIdleConnections()
}

type classSample struct {
	class string
	at    time.Duration // since the flood began (negative before)
	dur   time.Duration
	code  int    // 0: no answer
	why   string // a refusal's X-Bulwark-Reason
}

type classStats struct {
	n, ok    int
	p50, p99 time.Duration
	codes    map[int]int
	whys     map[string]int // refusals by reason
}

func (s classStats) pct() float64 {
	if s.n == 0 {
		return 0
	}
	return 100 * float64(s.ok) / float64(s.n)
}

func (s classStats) String() string {
	return fmt.Sprintf("%d requests, %.2f%% ok, p50 %v p99 %v, answers %v, refusals %v", s.n, s.pct(), s.p50, s.p99, s.codes, s.whys)
}

func statsOf(samples []classSample, keep func(classSample) bool) classStats {
	st := classStats{codes: map[int]int{}, whys: map[string]int{}}
	var d []time.Duration
	for _, s := range samples {
		if !keep(s) {
			continue
		}
		st.n++
		st.codes[s.code]++
		if s.why != "" {
			st.whys[s.why]++
		}
		if s.code == http.StatusOK {
			st.ok++
			d = append(d, s.dur)
		}
	}
	if len(d) > 0 {
		slices.Sort(d)
		st.p50, st.p99 = d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)]
	}
	return st
}

func TestStandingFlood(t *testing.T) { standingFlood(t, standingPlanFor()) }

// A flood whose bots keep cookies solves the cookie challenge: the bots
// then share the strangers' slots with the latecomers, but the users with
// standing keep theirs.
func TestStandingFloodBotsKeepCookies(t *testing.T) {
	plan := standingPlanFor()
	plan.botCookies = true
	standingFlood(t, plan)
}

func standingFlood(t *testing.T, plan standingPlan) {
	if testing.Short() {
		t.Skip("load test")
	}
	if os.Getenv(standingGenEnv) != "" {
		t.Skip("the generator's own process")
	}
	bin, tb := binaries(t)
	pinSelf(t, "0") // the users are load generators too

	appAddr := freeAddr(t)
	name, args := pinned("1", tb, "-listen", appAddr, "-name", "app", "-slots", "8", "-work", "10ms")
	app := startProc(t, "testbackend app", name, args...)
	app.waitHTTP(t, "http://"+appAddr+"/__heartbeat__", http.StatusOK)

	addr, admin := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bulwark.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, standingConfig, addr, admin, appAddr, filepath.Join(dir, "state")), 0o600); err != nil {
		t.Fatal(err)
	}
	startRouter := func(n int) *proc {
		name, args := pinned("1", bin, "-config", cfg)
		p := start(t, fmt.Sprintf("bulwark %d", n), true, name, args...)
		p.waitHTTP(t, "http://"+addr+"/__lbheartbeat__", http.StatusOK)
		return p
	}
	router := startRouter(1)
	url := "http://" + addr + "/"

	var (
		mu      sync.Mutex
		samples []classSample
		wg      sync.WaitGroup
	)
	begin := time.Now()
	floodAt := begin.Add(plan.warm)
	end := floodAt.Add(plan.flood)
	ctx, stop := context.WithDeadline(context.Background(), end)
	defer stop()
	// run makes u send a GET every pace from startAt until the end.
	run := func(u *standingUser, startAt time.Time, pace time.Duration) {
		wg.Go(func() {
			defer u.tr.CloseIdleConnections()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(startAt)):
			}
			tk := time.NewTicker(pace)
			defer tk.Stop()
			for {
				t0 := time.Now()
				code, why := 0, ""
				if resp, err := u.c.Get(url + u.class); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code, why = resp.StatusCode, resp.Header.Get("X-Bulwark-Reason")
				} else if ctx.Err() != nil {
					return
				}
				mu.Lock()
				samples = append(samples, classSample{class: u.class, at: t0.Sub(floodAt), dur: time.Since(t0), code: code, why: why})
				mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
			}
		})
	}
	// Users start a little apart, as users do.
	for i := range 20 {
		run(newStandingUser("regular", fmt.Sprintf("127.100.0.%d", i+1), true), begin.Add(time.Duration(i)*5*time.Millisecond), 100*time.Millisecond)
	}
	var movers []*standingUser
	for i := range 5 {
		u := newStandingUser("mover", fmt.Sprintf("127.101.0.%d", i+1), true)
		movers = append(movers, u)
		run(u, begin.Add(time.Duration(i)*7*time.Millisecond), 100*time.Millisecond)
	}
	for i := range 50 {
		run(newStandingUser("nat", "127.104.0.1", true), begin.Add(time.Duration(i)*10*time.Millisecond), 500*time.Millisecond)
	}
	for i := range 10 {
		run(newStandingUser("late", fmt.Sprintf("127.103.0.%d", i+1), true), floodAt.Add(plan.lateAt+time.Duration(i)*10*time.Millisecond), 100*time.Millisecond)
	}

	// The flood: a process of its own, on the other core.
	genOut := &lockedBuffer{}
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(floodAt)):
		}
		name, args := pinned("0", os.Args[0], "-test.run", "^TestStandingFloodGenerator$", "-test.count", "1")
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d %d %d", standingGenEnv, addr, plan.bots, plan.slowloris, plan.gen, plan.flood.Milliseconds()))
		if plan.botCookies {
			cmd.Env = append(cmd.Env, "BULWARK_FLOOD_BOT_COOKIES=1")
		}
		cmd.Stdout, cmd.Stderr = genOut, genOut
		if err := cmd.Run(); err != nil {
			t.Errorf("flood generator: %v\n%s", err, genOut.tail(4<<10))
		}
	})

	// BULWARK_FLOOD_PROFILE=FILE keeps a CPU profile of the router's first
	// 5s under the flood there (go tool pprof FILE).
	if out := os.Getenv("BULWARK_FLOOD_PROFILE"); out != "" {
		wg.Go(func() { profileRouter(t, "http://"+admin, out, floodAt.Add(time.Second)) })
	}
	// The address change, then the restart, while the flood runs.
	time.Sleep(time.Until(floodAt.Add(plan.moveAt)))
	for i, u := range movers {
		u.move(fmt.Sprintf("127.102.0.%d", i+1))
	}
	// The load balancer's check keeps the router in while it defends.
	if hb := heartbeat(url + "__heartbeat__"); !strings.HasPrefix(hb, "200 ") {
		t.Errorf("/__heartbeat__ during the flood: %s", hb)
	}
	time.Sleep(time.Until(floodAt.Add(plan.restartAt)))
	adminURL := "http://" + admin
	const banned = "127.10.0.7"
	if code, body := adminDo(t, http.DefaultClient, "", "POST", adminURL+"/admin/api/bans", fmt.Sprintf(`{"client": %q, "duration": "10m", "reason": "e2e flood"}`, banned)); code != http.StatusCreated {
		t.Fatalf("ban: %d %s", code, body)
	}
	before := explain(t, adminURL, "127.100.0.1")
	downAt := time.Since(floodAt)
	router.signal(t, syscall.SIGTERM)
	if code := router.wait(t, 10*time.Second); code != 0 {
		t.Errorf("router exited %d on SIGTERM", code)
	}
	router = startRouter(2)
	upAt := time.Since(floodAt)
	after := explain(t, adminURL, "127.100.0.1")
	_, bans := adminDo(t, http.DefaultClient, "", "GET", adminURL+"/admin/api/bans", "")
	wg.Wait()

	t.Logf("regular 127.100.0.1 before the restart: %s; after: %s", before, after)
	if !strings.Contains(bans, banned) || !strings.Contains(bans, "e2e flood") {
		t.Errorf("the ban of %s did not survive the restart: %s", banned, bans)
	}
	var bf, af struct {
		Class   string
		Score   int
		Regular bool
	}
	json.Unmarshal([]byte(before), &bf)
	json.Unmarshal([]byte(after), &af)
	switch {
	case !bf.Regular && !plan.full:
		// Queue waits of half max_wait already during the warm-up (a
		// machine too busy to run the app at its capacity) are pressure:
		// nobody could become a regular.
		t.Log("no regulars formed before the flood: the machine is too loaded for this check")
	case !bf.Regular || !af.Regular || af.Score < 192:
		t.Errorf("a regular's standing after the restart: %s score %d, before %s score %d", af.Class, af.Score, bf.Class, bf.Score)
	}

	// The restart's own gap (a real restart drops what is in flight) is
	// counted apart.
	up := upAt + 500*time.Millisecond
	during := func(class string, from time.Duration) classStats {
		return statsOf(samples, func(s classSample) bool {
			return s.class == class && s.at >= from && (s.at < downAt || s.at >= up)
		})
	}
	reg := during("regular", 0)
	regBefore := statsOf(samples, func(s classSample) bool { return s.class == "regular" && s.at < 0 && s.at >= -plan.warm/2 })
	late := during("late", plan.lateAt)
	moved := during("mover", plan.moveAt)
	nat := during("nat", 0)
	gap := statsOf(samples, func(s classSample) bool { return s.at >= downAt && s.at < up })
	var gen standingGenResult
	if i := strings.LastIndex(genOut.tail(64<<10), "RESULT "); i >= 0 {
		tail := genOut.tail(64 << 10)[i+len("RESULT "):]
		json.Unmarshal([]byte(strings.SplitN(tail, "\n", 2)[0]), &gen)
	}
	bots := classStats{n: gen.Sent, ok: gen.OK, codes: gen.Codes}
	t.Logf("full %v, bots keep cookies %v, warm-up %v, flood %v from %d addresses + %d slowloris; restart %v..%v into the flood",
		plan.full, plan.botCookies, plan.warm, plan.flood, plan.bots, plan.slowloris, downAt.Round(time.Millisecond), upAt.Round(time.Millisecond))
	t.Logf("regulars before: %v", regBefore)
	t.Logf("regulars during: %v", reg)
	t.Logf("latecomers:      %v", late)
	t.Logf("movers (moved):  %v", moved)
	t.Logf("behind one NAT:  %v", nat)
	t.Logf("restart gap:     %v", gap)
	t.Logf("flood:           %d requests (%.0f/s), %.2f%% ok, answers %v, slowloris connections made %d",
		bots.n, float64(bots.n)/plan.flood.Seconds(), bots.pct(), bots.codes, gen.Slow)

	// BULWARK_FLOOD_SECONDS=1 shows the users (latecomers apart) second by
	// second: where a tail comes from.
	if os.Getenv("BULWARK_FLOOD_SECONDS") != "" {
		for sec := time.Duration(0); sec < plan.flood; sec += time.Second {
			st := statsOf(samples, func(s classSample) bool { return s.class != "late" && s.at >= sec && s.at < sec+time.Second })
			t.Logf("second %v: users %v", sec, st)
		}
	}
	if plan.full {
		if reg.pct() < 99.5 || reg.p99 >= 50*time.Millisecond {
			t.Errorf("regulars: %v; want ≥ 99.5%% ok, p99 < 50ms", reg)
		}
		if !plan.botCookies && (late.pct() < 95 || late.p99 >= 500*time.Millisecond) {
			t.Errorf("latecomers: %v; want ≥ 95%% ok, p99 < 500ms", late)
		}
		if moved.pct() < 99.5 {
			t.Errorf("movers after the change: %v; want ≥ 99.5%% ok", moved)
		}
		if nat.pct() < 99.5 {
			t.Errorf("users behind one NAT: %v; want ≥ 99.5%% ok", nat)
		}
		return
	}
	// A loaded machine: every class with standing is served, and better
	// than the flood. Latecomers are strangers who solved a challenge: they
	// take the slots known clients leave (abuse.challenge.share), which a
	// busy CI box makes fewer.
	type class struct {
		name string
		s    classStats
		min  float64
	}
	classes := []class{{"regulars", reg, 95}, {"movers", moved, 90}, {"users behind one NAT", nat, 90}}
	if !plan.botCookies {
		classes = append(classes, class{"latecomers", late, 70})
	}
	for _, c := range classes {
		// Bots that keep cookies may all be served when the flood is
		// small: then only the users' own share is asked.
		if c.s.n == 0 || c.s.pct() < c.min || c.s.pct() <= bots.pct() && !plan.botCookies {
			t.Errorf("%s: %v; want ≥ %.0f%% ok and more than the flood's %.2f%%", c.name, c.s, c.min, bots.pct())
		}
	}
	if bots.n == 0 {
		t.Errorf("the flood sent nothing:\n%s", genOut.tail(4<<10))
	}
}

// explain is the class, score and regular flag the explain API gives
// client, once the router has seen the flood's pressure (a router just
// started has not yet: nobody ranks as a regular before pressure begins).
func explain(t *testing.T, adminURL, client string) string {
	t.Helper()
	var f struct {
		Class    string `json:"class"`
		Score    int    `json:"score"`
		Regular  bool   `json:"regular"`
		Pressure bool   `json:"under_pressure"`
	}
	eventually(t, 5*time.Second, 20*time.Millisecond, "no pressure seen", func() bool {
		code, body := adminDo(t, http.DefaultClient, "", "GET", adminURL+"/admin/api/clients/"+client, "")
		if code != http.StatusOK {
			t.Fatalf("explain %s: %d %s", client, code, body)
		}
		json.Unmarshal([]byte(body), &f)
		return f.Pressure
	})
	b, _ := json.Marshal(f)
	return string(b)
}

// profileRouter writes 5s of the router's CPU profile, from at, to out.
func profileRouter(t *testing.T, adminURL, out string, at time.Time) {
	time.Sleep(time.Until(at))
	resp, err := http.Get(adminURL + "/debug/pprof/profile?seconds=5")
	if err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Errorf("profile: %v", err)
	}
}
