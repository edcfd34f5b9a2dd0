package clientip_test

import (
	"fmt"
	"net/netip"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/clientip"
)

func ExampleExtractor_Client() {
	e, err := clientip.New(config.ClientIP{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		panic(err)
	}
	lb := netip.MustParseAddr("10.0.0.1")
	// The client wrote "6.6.6.6" itself; the load balancer appended the
	// address it saw, then an inner proxy appended its own.
	hdr := []string{"6.6.6.6, 203.0.113.9, 10.1.1.1"}
	fmt.Println(e.Client(lb, hdr))
	// Nobody else's header is believed.
	fmt.Println(e.Client(netip.MustParseAddr("198.51.100.5"), hdr))
	// Output:
	// 203.0.113.9
	// 198.51.100.5
}

func ExampleExtractor_Key() {
	e, err := clientip.New(config.ClientIP{})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Key(netip.MustParseAddr("2001:db8:1:2:aaaa::1")))
	fmt.Println(e.Key(netip.MustParseAddr("203.0.113.9")))
	// Output:
	// 2001:db8:1:2::
	// 203.0.113.9
}

func ExampleParsePeer() {
	a, ok := clientip.ParsePeer("[::ffff:192.0.2.1]:5678")
	fmt.Println(a, ok)
	// Output: 192.0.2.1 true
}
