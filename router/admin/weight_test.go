package admin

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bulwark-router/bulwark/config"
	"github.com/bulwark-router/bulwark/router"
)

// The status shows each target's weight and backup flag.
func TestStatusTargetWeightAndBackup(t *testing.T) {
	cfg, err := config.Load([]byte(`backends: {a: {targets: ["http://127.0.0.1:1", {url: "http://127.0.0.1:2", weight: 4, backup: true}]}}
routes: [{backend: a}]
`))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(cfg, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	t0 := time.Unix(1000, 0)
	s := newSampler(router.NewServer(cfg, rt, nil), nil, WithClock(func() time.Time { return t0 }))
	s.sample(t0.Add(time.Second))
	b, err := json.Marshal(s.Status().Backends[0].Targets)
	if err != nil {
		t.Fatal(err)
	}
	var ts []struct {
		URL    string `json:"url"`
		Weight int    `json:"weight"`
		Backup bool   `json:"backup"`
	}
	if err := json.Unmarshal(b, &ts); err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Weight != 1 || ts[0].Backup || ts[1].Weight != 4 || !ts[1].Backup {
		t.Fatalf("targets %s", b)
	}
}
