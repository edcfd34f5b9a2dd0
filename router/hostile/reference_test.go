package hostile

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// TestNetHTTPReference checks the cases marked ref against a bare net/http
// server, the reference for how the router reads requests: one of the
// case's outcomes must begin with net/http's answer to its first request.
// The handler reads the body with the router's limit, as the router does.
func TestNetHTTPReference(t *testing.T) {
	const maxBody = 64 << 10
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		_, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxBody))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		case err != nil:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	srv.Config.MaxHeaderBytes = 32 << 10
	srv.Config.ErrorLog = zap.NewStdLog(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	m := newMarkers(0)
	for _, c := range requestCases() {
		if !c.ref {
			continue
		}
		t.Run(c.family+"/"+c.name, func(t *testing.T) {
			raw := m.fill(strings.TrimSuffix(c.raw, "{CLOSE}"))
			raw = strings.ReplaceAll(raw, "{PAUSE}", "")
			var firsts []int
			for _, o := range c.want {
				if len(o.codes) > 0 {
					firsts = append(firsts, o.codes[0])
				}
			}
			a, err := exchange(addr, raw, firstMethod(raw))
			if err != nil {
				t.Fatalf("net/http: %v, case wants one of %v", err, firsts)
			}
			if !slices.Contains(firsts, a.code) {
				t.Errorf("net/http answers %d, the case wants one of %v", a.code, firsts)
			}
		})
	}
}
