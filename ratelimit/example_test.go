package ratelimit_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/ratelimit"
	"github.com/bulwark-router/bulwark/stats"
)

func Example() {
	cfg, err := config.Load([]byte(`
backends:
  app: {targets: ["http://127.0.0.1:9"]}
routes:
  - match: {path_prefix: /}
    backend: app
limits:
  default: {rate: 2/s, burst: 2}
`))
	if err != nil {
		panic(err)
	}
	a, err := ratelimit.New(cfg, stats.Nop{}, nil)
	if err != nil {
		panic(err)
	}
	defer a.Close()

	p := a.Policy("default")
	client := netip.MustParseAddr("192.0.2.1")
	now := time.Now()
	for range 3 {
		d := a.Admit(now, client, p)
		if d.Allow {
			fmt.Println("admitted, remaining", d.Remaining)
			a.Done(now, client, 200, false)
			continue
		}
		policy, name := d.RateLimit()
		fmt.Println(d.Status, d.Reason, d.RetryAfter, policy, name)
	}
	// Output:
	// admitted, remaining 1
	// admitted, remaining 0
	// 429 rate_limit 500ms ["default";q=2;w=1] "default"
}
