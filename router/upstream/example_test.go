package upstream_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/bulwark-router/bulwark/router/upstream"
)

// A Transport drops in where an *http.Transport serves a ReverseProxy.
func Example() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.URL.Path)
	}))
	defer backend.Close()

	tr := upstream.New(upstream.Options{
		ConnectTimeout:        2 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxConnsPerTarget:     64,
	})
	defer tr.Close()
	target, _ := url.Parse(backend.URL)
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: tr,
	}

	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		proxy.ServeHTTP(w, httptest.NewRequest("GET", "/greeting", nil))
		body, _ := io.ReadAll(w.Result().Body)
		fmt.Println(w.Code, string(body))
	}
	s := tr.Stats()
	fmt.Println("dials:", s.Dials, "reused:", s.Reused)
	// Output:
	// 200 hello from /greeting
	// 200 hello from /greeting
	// dials: 1 reused: 1
}
