package stats_test

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/bulwark-router/bulwark/stats"
)

func Example() {
	// A statsd server stand-in on loopback.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	cfg := stats.Options{
		Statsd:     stats.StatsdOptions{Address: conn.LocalAddr().String(), Prefix: "browserid.router"},
		Prometheus: true,
	}
	reg := prometheus.NewRegistry()
	s, err := stats.New(cfg, reg, stats.BuildInfo{Version: "1.0.0", Commit: "abc"}, nil)
	if err != nil {
		panic(err)
	}
	s.Request(&stats.Request{
		Route: "wsapi", Backend: "browserid", Code: 200, API: "session_context",
		Duration: 2500 * time.Microsecond, BackendLatency: 2 * time.Millisecond,
	})
	s.Rejected(stats.RateLimit)
	s.Close() // flushes statsd

	buf := make([]byte, 1500)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	n, _, _ := conn.ReadFrom(buf)
	lines := strings.Split(string(buf[:n]), "\n")
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "bulwark_requests_total" {
			m := mf.GetMetric()[0]
			fmt.Print(mf.GetName(), "{")
			for i, l := range m.GetLabel() {
				if i > 0 {
					fmt.Print(",")
				}
				fmt.Printf("%s=%q", l.GetName(), l.GetValue())
			}
			fmt.Println("}", m.GetCounter().GetValue())
		}
	}
	// Output:
	// browserid.router.backend.browserid.latency:2|ms
	// browserid.router.rejected.rate_limit:1|c
	// browserid.router.request:1|c
	// browserid.router.response.200:1|c
	// browserid.router.response_time:2.5|ms
	// browserid.router.wsapi.session_context:1|c
	// bulwark_requests_total{backend="browserid",code="200",route="wsapi"} 1
}

// clock is a fixed zapcore.Clock, so the example's output is stable.
type clock struct{}

func (clock) Now() time.Time                         { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
func (clock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func ExampleNewLogger() {
	cfg := stats.LogOptions{Level: "info", Format: "json", Sample: stats.SampleOptions{Initial: 1, Thereafter: 0}}
	dropped := 0 // in bulwark: Stats.LogDropped
	log, err := stats.NewLogger(cfg, os.Stdout, func() { dropped++ }, zap.WithClock(clock{}))
	if err != nil {
		panic(err)
	}
	for range 3 {
		log.Warn("client refused", zap.String("reason", "rate_limit"))
	}
	fmt.Println("dropped:", dropped)
	// Output:
	// {"level":"warn","ts":"2024-01-02T03:04:05.000Z","msg":"client refused","reason":"rate_limit"}
	// dropped: 2
}
