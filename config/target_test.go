package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestTargetForms(t *testing.T) {
	c, err := Load([]byte(`
backends:
  app:
    targets:
      - http://10.0.0.1:8080
      - {url: "http://10.0.0.2:8080", weight: 3}
      - url: http://10.0.0.3:8080
        backup: true
routes:
  - backend: app
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{URL: "http://10.0.0.1:8080", Weight: 1},
		{URL: "http://10.0.0.2:8080", Weight: 3},
		{URL: "http://10.0.0.3:8080", Weight: 1, Backup: true},
	}
	got := c.Backends["app"].Targets
	if len(got) != len(want) {
		t.Fatalf("targets %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("targets[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if c.Line("backends.app.targets[1].weight") != 6 {
		t.Errorf("weight line %d", c.Line("backends.app.targets[1].weight"))
	}
}

func TestTargetErrors(t *testing.T) {
	_, err := Load([]byte(`
backends:
  app:
    targets:
      - {url: "http://10.0.0.2:8080", weight: 0}
      - {url: "http://10.0.0.3:8080", wieght: 2}
      - {weight: 2}
      - {url: "ftp://x", weight: 1001}
      - [http://10.0.0.4]
  spare:
    targets: [{url: "http://10.0.0.5", backup: true}]
routes:
  - backend: app
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"backends.app.targets[0].weight: must be between 1 and 1000 (line 5)",
		"backends.app.targets[1].wieght: unknown key (did you mean \"weight\"? known: backup, url, weight) (line 6)",
		"backends.app.targets[2].url: required",
		"backends.app.targets[3]: target \"ftp://x\": scheme must be http or https",
		"backends.app.targets[3].weight: must be between 1 and 1000 (line 8)",
		"backends.app.targets[4]: expected a mapping, got a list (line 9)",
		"backends.spare.targets: at least one target must not be a backup",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

// TestTargetYAML: the type also decodes and encodes through yaml.v3.
func TestTargetYAML(t *testing.T) {
	var ts []Target
	if err := yaml.Unmarshal([]byte(`[http://a, {url: "http://b", weight: 2, backup: true}, {url: "http://c"}]`), &ts); err != nil {
		t.Fatal(err)
	}
	want := []Target{{URL: "http://a", Weight: 1}, {URL: "http://b", Weight: 2, Backup: true}, {URL: "http://c", Weight: 1}}
	for i := range want {
		if ts[i] != want[i] {
			t.Fatalf("yaml.Unmarshal: %+v", ts)
		}
	}
	out, err := yaml.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.HasPrefix(s, "- http://a\n") || !strings.Contains(s, "weight: 2") {
		t.Fatalf("yaml.Marshal:\n%s", s)
	}
}

func FuzzLoadTargets(f *testing.F) {
	f.Add("http://a:1")
	f.Add(`{url: "http://a:1", weight: 7, backup: false}`)
	f.Add(`{url: "http://a:1", weight: -1}`)
	f.Add(`{url: [x]}`)
	f.Add(`~`)
	f.Fuzz(func(t *testing.T, target string) {
		src := "backends:\n  app:\n    targets:\n      - " + target + "\n      - http://b:2\nroutes:\n  - backend: app\n"
		c, err := Load([]byte(src))
		if err != nil {
			return
		}
		for _, tg := range c.Backends["app"].Targets {
			if tg.Weight < 1 || tg.Weight > MaxWeight {
				t.Fatalf("weight %d accepted from %q", tg.Weight, target)
			}
			if _, err := ParseTarget(tg.URL); err != nil {
				t.Fatalf("url %q accepted from %q", tg.URL, target)
			}
		}
	})
}
