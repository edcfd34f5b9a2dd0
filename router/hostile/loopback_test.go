package hostile

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// loopbackHost returns an address of its own on the loopback network for
// a listener: on Linux all of 127.0.0.0/8 is the loopback, so each router
// and backend of the suite listens on a random one. Another test that
// frees a port on 127.0.0.1 to use as a "dead" address can then never
// reach the suite's listeners, nor the suite its. Where only 127.0.0.1
// answers, it is used.
func loopbackHost() string {
	wideOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.83.41.7:0")
		if err == nil {
			ln.Close()
			wide = true
		}
	})
	if !wide {
		return "127.0.0.1"
	}
	return fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
}

var (
	wideOnce sync.Once
	wide     bool
)
