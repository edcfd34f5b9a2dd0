// Command statsdsink is the statsd daemon of bench/proxy.sh: it reads every
// packet sent to a UDP port on 127.0.0.1 and throws it away, as a statsd
// daemon's receive loop would. It prints a line once it reads the port, and
// on SIGTERM how many packets and bytes it read.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	port := flag.Int("port", 8125, "UDP port to read, on 127.0.0.1")
	flag.Parse()

	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: *port})
	if err != nil {
		fmt.Fprintln(os.Stderr, "statsdsink:", err)
		os.Exit(1)
	}
	// The bench waits for this line: a sink that could not bind exits
	// without it.
	fmt.Printf("statsdsink: reading %s\n", c.LocalAddr())
	var packets, bytes int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			packets++
			bytes += int64(n)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	c.Close()
	<-done
	fmt.Printf("statsdsink: %d packets, %d bytes\n", packets, bytes)
}
