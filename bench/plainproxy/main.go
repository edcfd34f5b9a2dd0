// Command plainproxy is the baseline of bench/proxy.sh: a plain
// httputil.ReverseProxy with default settings on 127.0.0.1.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	port := flag.Int("port", 9101, "port to listen on, on 127.0.0.1")
	target := flag.String("target", "http://127.0.0.1:9100", "backend URL")
	idle := flag.Int("max-idle-per-host", 0, "idle upstream connections kept per host; 0 keeps the default Transport (2)")
	flag.Parse()

	u, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainproxy:", err)
		os.Exit(2)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	if *idle > 0 {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = *idle
		rp.Transport = tr
	}
	addr := fmt.Sprintf("127.0.0.1:%d", *port)
	if err := http.ListenAndServe(addr, rp); err != nil {
		fmt.Fprintln(os.Stderr, "plainproxy:", err)
		os.Exit(1)
	}
}
