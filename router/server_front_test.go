package router

import (
	"fmt"
	"net"
	"net/http"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router/front"
)

// The front wraps the public listener only with server.early_refusal on:
// with it off, net/http reads the accepted connections itself.
func TestServerInstallsTheFrontOnlyForEarlyRefusal(t *testing.T) {
	be := namedBackend(t, "app")
	for _, tc := range []struct {
		early    bool
		connType string
	}{
		{true, "*front.conn"},
		{false, "*net.TCPConn"},
	} {
		t.Run(fmt.Sprintf("early_refusal=%v", tc.early), func(t *testing.T) {
			cfg, err := config.Load([]byte(fmt.Sprintf("listen: 127.0.0.1:0\n%s", frontConfig(be.URL, fmt.Sprintf("server: {early_refusal: %v}", tc.early)))))
			if err != nil {
				t.Fatal(err)
			}
			log := zaptest.NewLogger(t)
			rt, err := New(cfg, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			srv := NewServer(cfg, rt, log)
			if (srv.pub.ConnState != nil) != tc.early {
				t.Errorf("ConnState hook set: %v", srv.pub.ConnState != nil)
			}
			accepted := make(chan string, 1)
			hook := srv.pub.ConnState
			srv.pub.ConnState = func(c net.Conn, s http.ConnState) {
				if s == http.StateNew {
					accepted <- fmt.Sprintf("%T", c)
				}
				if hook != nil {
					hook(c, s)
				}
			}
			if err := srv.Start(nil); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stopRouter(t, srv) })
			if _, ok := srv.pubLn.(*front.Listener); ok != tc.early {
				t.Errorf("the public listener is %T", srv.pubLn)
			}
			resp, err := http.Get("http://" + srv.Addr().String() + "/ok")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := <-accepted; got != tc.connType {
				t.Errorf("net/http serves a %s, want %s", got, tc.connType)
			}
		})
	}
}
