package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// adminDo sends an admin API request through c, with token as its bearer
// token unless token is "", and returns the status and body.
func adminDo(t *testing.T, c *http.Client, token, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
