package health

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bulwark-router/bulwark/config"
)

// StatusError is a health answer outside 200–399.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("health: status %d", e.Code) }

// maxDrain is how much of a health answer's body is read so the connection
// can be reused; the rest is dropped with the connection.
const maxDrain = 4 << 10

// httpCheck is the default CheckFunc: GET target+check.Path; 2xx and 3xx pass.
func httpCheck(client *http.Client) CheckFunc {
	return func(ctx context.Context, target string, check config.Check) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(target, "/")+check.Path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "bulwark-health")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return &StatusError{Code: resp.StatusCode}
		}
		return nil
	}
}
