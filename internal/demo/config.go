package demo

import (
	_ "embed"
	"strings"
)

//go:embed bulwark-demo.yaml
var demoYAML string

// Config returns the demo's config file: Persona's routing table over the
// demo backends, listen ":8080", admin 127.0.0.1:9901, statsd off. Each
// "${NAME}" placeholder in the embedded file is replaced by targets[NAME]
// (as returned by Backends.Targets); a placeholder without a target is left
// in place, so config.Load reports it.
func Config(targets map[string]string) []byte {
	s := demoYAML
	for name, url := range targets {
		s = strings.ReplaceAll(s, "${"+name+"}", url)
	}
	return []byte(s)
}
