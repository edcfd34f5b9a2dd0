package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeTimeout is the cluster's cluster-node-timeout: a primary silent this
// long is failed over (a replica takes its slots a moment later).
const NodeTimeout = time.Second

// Cluster is a Redis Cluster of 3 primaries and 3 replicas on loopback,
// shared by the tests of one package (see SharedCluster). Its methods are
// for one test at a time.
type Cluster struct {
	Nodes []*proc
	dir   string
}

var cluster group[*Cluster]

// SharedCluster returns the package's cluster, starting it on first use,
// and waits until it is whole (every slot served, every primary with a
// synced replica). Its processes are killed by Main when the package's
// tests end. It skips t without redis-server, unless CI=true.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	return cluster.get(t, startCluster)
}

func startCluster() (*Cluster, error) {
	dir, base, err := newGroupDir("redistest-cluster-", 6)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	args := []string{"--cluster", "create"}
	for i := range 6 {
		port := base + i
		p := &proc{Port: port, args: append(dataArgs(port, dir),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+strconv.Itoa(port)+".conf",
			"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout.Milliseconds())),
			"--cluster-replica-validity-factor", "0", "--cluster-require-full-coverage", "no")}
		own(p)
		if err := p.start("Ready to accept connections"); err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, p)
		args = append(args, p.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return c, c.waitWhole(30 * time.Second)
}

// URL is the cluster's go-redis cluster URL: one seed, the others as addr=.
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr() + "?"
	for i, p := range c.Nodes[1:] {
		if i > 0 {
			u += "&"
		}
		u += "addr=" + p.Addr()
	}
	return u
}

// Kill kills node i.
func (c *Cluster) Kill(i int) { c.Nodes[i].kill() }

// Restart starts node i again (it rejoins as a replica) and waits until
// the cluster is whole.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	if err := c.Nodes[i].start("Ready to accept connections"); err != nil {
		t.Fatal(err)
	}
	if err := c.waitWhole(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// PrimaryFor is the index of the node whose slots hold key, as the live
// nodes see it ("" when none serves it).
func (c *Cluster) PrimaryFor(key string) (int, error) {
	for _, p := range c.Nodes {
		if p.cmd == nil {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: p.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		ctx := context.Background()
		s, err1 := cl.ClusterKeySlot(ctx, key).Result()
		slots, err2 := cl.ClusterSlots(ctx).Result()
		cl.Close()
		if err1 != nil || err2 != nil {
			continue
		}
		for _, r := range slots {
			if int64(r.Start) <= s && s <= int64(r.End) && len(r.Nodes) > 0 {
				return c.index(r.Nodes[0].Addr), nil
			}
		}
	}
	return -1, fmt.Errorf("redistest: no live node serves %q", key)
}

func (c *Cluster) index(addr string) int {
	for i, p := range c.Nodes {
		if p.Addr() == addr {
			return i
		}
	}
	return -1
}

// WaitFailover waits until a live node other than old serves key, and
// returns when it first saw that.
func (c *Cluster) WaitFailover(t testing.TB, key string, old int) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if i, err := c.PrimaryFor(key); err == nil && i != old && i >= 0 && c.Nodes[i].cmd != nil {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no failover of %q within 20s", key)
	return time.Time{}
}

// waitWhole polls until every node runs, every node says cluster_state:ok,
// three primaries serve all 16384 slots and each has a synced replica.
func (c *Cluster) waitWhole(within time.Duration) error {
	deadline := time.Now().Add(within)
	var why string
	for time.Now().Before(deadline) {
		if why = c.whole(); why == "" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redistest: cluster not whole after %v: %s", within, why)
}

func (c *Cluster) whole() string {
	ctx := context.Background()
	synced := 0
	for _, p := range c.Nodes {
		if p.cmd == nil {
			return p.Addr() + " not running"
		}
		cl := redis.NewClient(&redis.Options{Addr: p.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second})
		info, err := cl.ClusterInfo(ctx).Result()
		repl, err2 := cl.Info(ctx, "replication").Result()
		slots, err3 := cl.ClusterSlots(ctx).Result()
		cl.Close()
		if err != nil || err2 != nil || err3 != nil {
			return fmt.Sprint(p.Addr(), err, err2, err3)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return p.Addr() + " cluster_state not ok"
		}
		if strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_link_status:up") {
			synced++
		}
		n := 0
		for _, r := range slots {
			n += r.End - r.Start + 1
			if len(r.Nodes) < 2 {
				return p.Addr() + " sees a primary without a replica"
			}
		}
		if n != 16384 {
			return p.Addr() + " sees " + strconv.Itoa(n) + " slots served"
		}
	}
	if synced != 3 {
		return strconv.Itoa(synced) + " replicas synced"
	}
	return ""
}
