package router

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A refusal names its reason and request id; the explain API finds the
// decision by the client's address and says what is known of it.
func TestExplainClient(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(be.Close)
	srv, base := startRouter(t, `
client_ip: {trusted_proxies: [127.0.0.1/32]}
limits:
  default: {rate: 1/m, burst: 1}
backends:
  app: {targets: ["`+be.URL+`"]}
routes:
  - backend: app
`)
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", base+"/x", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get()
	resp := get()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 429 || resp.Header.Get(reasonHeader) != "rate_limit" || id == "" {
		t.Fatalf("refusal: %d reason %q id %q", resp.StatusCode, resp.Header.Get(reasonHeader), id)
	}
	code, body := adminDo(t, srv, "", "GET", "/admin/api/clients/198.51.100.7", "")
	if code != 200 {
		t.Fatalf("explain: %d %s", code, body)
	}
	var got struct {
		Class     string `json:"class"`
		Tracked   bool   `json:"tracked"`
		Good      int    `json:"good_answers"`
		Decisions []struct {
			Reason    string `json:"reason"`
			RequestID string `json:"request_id"`
		} `json:"recent_decisions"`
		Buckets []struct {
			Policy    string `json:"policy"`
			Remaining int    `json:"remaining"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if !got.Tracked || got.Good != 1 || len(got.Decisions) != 1 || got.Decisions[0].RequestID != id ||
		got.Decisions[0].Reason != "rate_limit" || len(got.Buckets) != 1 || got.Buckets[0].Remaining != 0 {
		t.Fatalf("explain:\n%s", body)
	}
	if code, _ := adminDo(t, srv, "", "GET", "/admin/api/clients/nonsense", ""); code != 400 {
		t.Fatalf("bad argument: %d", code)
	}
	if code, _ := adminDo(t, srv, "", "GET", "/admin/api/clients/00000000000000ff", ""); code != 200 {
		t.Fatalf("token id: %d", code)
	}
}
