package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the sentinels monitor their primary under.
const MasterName = "bulwark"

// DownAfter is the sentinels' down-after-milliseconds.
const DownAfter = time.Second

// Sentinels is a primary, its replica and three sentinels on loopback,
// shared by the tests of one package (see SharedSentinels). Its methods
// are for one test at a time.
type Sentinels struct {
	Data      []*proc // the two data nodes; which is primary changes
	Sentinels []*proc
	dir       string
}

var sentinels group[*Sentinels]

// SharedSentinels returns the package's sentinel group, starting it on
// first use, and waits until it is whole (a primary, a synced replica,
// three sentinels that know each other). Main kills it. It skips t without
// redis-server, unless CI=true.
func SharedSentinels(t testing.TB) *Sentinels {
	t.Helper()
	return sentinels.get(t, startSentinels)
}

func startSentinels() (*Sentinels, error) {
	dir, base, err := newGroupDir("redistest-sentinel-", 5)
	if err != nil {
		return nil, err
	}
	s := &Sentinels{dir: dir}
	for i := range 2 {
		port := base + i
		args := dataArgs(port, dir)
		if i == 1 {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(base))
		}
		p := &proc{Port: port, args: args}
		own(p)
		if err := p.start("Ready to accept connections"); err != nil {
			return nil, err
		}
		s.Data = append(s.Data, p)
	}
	for i := range 3 {
		port := base + 2 + i
		conf := filepath.Join(dir, "sentinel-"+strconv.Itoa(port)+".conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 5000\n",
			port, dir, MasterName, base, MasterName, DownAfter.Milliseconds(), MasterName)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
		p := &proc{Port: port, args: []string{conf, "--sentinel"}}
		own(p)
		if err := p.start("+monitor master"); err != nil {
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, p)
	}
	return s, s.waitWhole(30 * time.Second)
}

// Addrs are the sentinels' addresses.
func (s *Sentinels) Addrs() []string {
	var a []string
	for _, p := range s.Sentinels {
		a = append(a, p.Addr())
	}
	return a
}

// Primary is the index in Data of the node the sentinels call primary.
func (s *Sentinels) Primary() (int, error) {
	for _, p := range s.Sentinels {
		cl := redis.NewSentinelClient(&redis.Options{Addr: p.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		a, err := cl.GetMasterAddrByName(context.Background(), MasterName).Result()
		cl.Close()
		if err != nil || len(a) != 2 {
			continue
		}
		for i, d := range s.Data {
			if strconv.Itoa(d.Port) == a[1] {
				return i, nil
			}
		}
	}
	return -1, fmt.Errorf("redistest: no sentinel names a primary")
}

// Kill kills data node i.
func (s *Sentinels) Kill(i int) { s.Data[i].kill() }

// Restart starts data node i again (the sentinels make it a replica) and
// waits until the group is whole.
func (s *Sentinels) Restart(t testing.TB, i int) {
	t.Helper()
	if err := s.Data[i].start("Ready to accept connections"); err != nil {
		t.Fatal(err)
	}
	if err := s.waitWhole(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// WaitFailover waits until the sentinels name a live primary other than
// old and it answers as one; it returns when it first saw that.
func (s *Sentinels) WaitFailover(t testing.TB, old int) time.Time {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if i, err := s.Primary(); err == nil && i != old && s.Data[i].cmd != nil && s.role(i) == "master" {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no sentinel failover within 30s")
	return time.Time{}
}

func (s *Sentinels) role(i int) string {
	cl := redis.NewClient(&redis.Options{Addr: s.Data[i].Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
	defer cl.Close()
	info, err := cl.Info(context.Background(), "replication").Result()
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(info, "\n") {
		if r, ok := strings.CutPrefix(strings.TrimSpace(l), "role:"); ok {
			return r
		}
	}
	return ""
}

func (s *Sentinels) waitWhole(within time.Duration) error {
	deadline := time.Now().Add(within)
	var why string
	for time.Now().Before(deadline) {
		if why = s.whole(); why == "" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redistest: sentinel group not whole after %v: %s", within, why)
}

// whole: every process runs, every sentinel sees the same primary, one
// replica not down and two other sentinels, and the replica is synced.
func (s *Sentinels) whole() string {
	ctx := context.Background()
	prim := -1
	for _, p := range s.Sentinels {
		if p.cmd == nil {
			return p.Addr() + " not running"
		}
		cl := redis.NewSentinelClient(&redis.Options{Addr: p.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		a, err1 := cl.GetMasterAddrByName(ctx, MasterName).Result()
		reps, err2 := cl.Replicas(ctx, MasterName).Result()
		sens, err3 := cl.Sentinels(ctx, MasterName).Result()
		cl.Close()
		if err1 != nil || err2 != nil || err3 != nil || len(a) != 2 {
			return fmt.Sprint(p.Addr(), err1, err2, err3)
		}
		if prim >= 0 && strconv.Itoa(s.Data[prim].Port) != a[1] {
			return "sentinels disagree on the primary"
		}
		for i, d := range s.Data {
			if strconv.Itoa(d.Port) == a[1] {
				prim = i
			}
		}
		up := 0
		for _, r := range reps {
			if !strings.Contains(r["flags"], "down") && r["master-link-status"] == "ok" {
				up++
			}
		}
		if up != 1 {
			return p.Addr() + " sees " + strconv.Itoa(up) + " healthy replicas"
		}
		if len(sens) != 2 {
			return p.Addr() + " knows " + strconv.Itoa(len(sens)) + " other sentinels"
		}
	}
	if prim < 0 || s.Data[prim].cmd == nil || s.role(prim) != "master" {
		return "primary not up"
	}
	if r := s.role(1 - prim); r != "slave" {
		return "replica's role is " + r
	}
	return ""
}
