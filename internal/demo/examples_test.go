package demo

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/bulwark-router/bulwark/config"
)

// The examples live at the repository root; they are tested here because
// this package already depends on config and builds the demo's copy of
// Persona's table.

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := config.LoadFile(f); err != nil {
			t.Errorf("%s:\n%v", f, err)
		}
	}
}

// TestBulwarkExampleHasEveryKey keeps examples/bulwark.yaml complete: every
// yaml key of config.Config must appear in it, with a comment, except the
// keys of a mode that excludes another one (Sentinel versus a plain URL),
// which have an example of their own.
func TestBulwarkExampleHasEveryKey(t *testing.T) {
	cfgType := reflect.TypeFor[config.Config]()
	want := map[string]bool{}
	typeKeys(cfgType, "", want)
	got := map[string]bool{} // key path -> seen with a comment at least once
	for _, f := range []string{"../../examples/bulwark.yaml", "../../examples/sentinel.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		nodeKeys(root.Content[0], cfgType, "", got)
	}
	var missing, bare []string
	for k := range want {
		commented, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !commented:
			bare = append(bare, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(bare)
	if len(missing) > 0 {
		t.Errorf("examples/bulwark.yaml lacks %d keys:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	if len(bare) > 0 {
		t.Errorf("examples/bulwark.yaml never comments %d keys:\n%s", len(bare), strings.Join(bare, "\n"))
	}
	if len(want) < 80 {
		t.Errorf("found only %d keys in config.Config; the walk is broken", len(want))
	}
}

// hasYAMLFields tells config sections (structs of yaml-tagged fields) from
// scalar value types such as config.Rate.
func hasYAMLFields(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for f := range t.Fields() {
		if f.IsExported() && yamlName(f) != "" {
			return true
		}
	}
	return false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// elem follows pointers, maps and slices to the section type they hold,
// with the path suffix that stands for one of their elements.
func elem(t reflect.Type) (reflect.Type, string) {
	suffix := ""
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
		case reflect.Map:
			t, suffix = t.Elem(), suffix+".*"
		case reflect.Slice:
			if !hasYAMLFields(deref(t.Elem())) {
				return t, suffix
			}
			t, suffix = t.Elem(), suffix+"[]"
		default:
			return t, suffix
		}
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func typeKeys(t reflect.Type, path string, out map[string]bool) {
	for f := range t.Fields() {
		name := yamlName(f)
		if !f.IsExported() || name == "" {
			continue
		}
		p := strings.TrimPrefix(path+"."+name, ".")
		out[p] = true
		if et, suffix := elem(f.Type); hasYAMLFields(et) {
			typeKeys(et, p+suffix, out)
		}
	}
}

// nodeKeys records every key path found under n, read as typ, and whether
// one of its occurrences has a comment.
func nodeKeys(n *yaml.Node, typ reflect.Type, path string, out map[string]bool) {
	typ = deref(typ)
	switch {
	case typ.Kind() == reflect.Map:
		for i := 1; i < len(n.Content); i += 2 {
			nodeKeys(n.Content[i], typ.Elem(), path+".*", out)
		}
	case typ.Kind() == reflect.Slice && hasYAMLFields(deref(typ.Elem())):
		for _, item := range n.Content {
			nodeKeys(item, typ.Elem(), path+"[]", out)
		}
	case hasYAMLFields(typ):
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			out[p] = out[p] || hasComment(n, i)
			for f := range typ.Fields() {
				if yamlName(f) == k.Value {
					nodeKeys(v, f.Type, p, out)
				}
			}
		}
	}
}

// hasComment reports whether the i-th key of mapping n has a comment above
// it or on its line (for the first key of a list item, above the item).
func hasComment(n *yaml.Node, i int) bool {
	k, v := n.Content[i], n.Content[i+1]
	return k.HeadComment != "" || k.LineComment != "" || v.LineComment != "" ||
		(i == 0 && n.HeadComment != "")
}

// TestPersonaExample checks the Persona layout the README promises.
func TestPersonaExample(t *testing.T) {
	c, err := config.LoadFile("../../examples/persona.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checkPersonaTable(t, c)
	if got := c.Stats.Statsd.Prefix; got != "browserid.router" {
		t.Errorf("statsd prefix %q", got)
	}
	if got := c.Server.MaxBodyBytes; got != 10<<10 {
		t.Errorf("max_body_bytes %v, want 10KiB", got)
	}
}

// dbwriterOps are Persona's /wsapi/ operations that write to the database.
var dbwriterOps = []string{
	"stage_user", "complete_user_creation", "update_password", "remove_email",
	"account_cancel", "stage_email", "complete_email_confirmation",
	"stage_reset", "complete_reset", "stage_reverify", "stage_transition",
	"complete_transition", "add_email_with_assertion", "used_address_as_primary",
}

// routeFor returns the backend and route of the first route matching path,
// by config.Match's documented rules (methods and host left out: Persona's
// table does not use them).
func routeFor(c *config.Config, path string) (backend string, r config.Route) {
	for _, r := range c.Routes {
		m := r.Match
		switch {
		case m.Path != "" && m.Path != path:
		case len(m.Paths) > 0 && !slices.Contains(m.Paths, path):
		case m.PathPrefix != "" && !strings.HasPrefix(path, m.PathPrefix):
		default:
			return r.Backend, r
		}
	}
	return "", config.Route{}
}

// checkPersonaTable checks Persona's routing table in c.
func checkPersonaTable(t *testing.T, c *config.Config) {
	t.Helper()
	for _, name := range []string{"browserid", "dbwriter", "verifier", "static"} {
		if c.Backends[name] == nil {
			t.Errorf("no backend %q", name)
		}
	}
	if !c.Backends["browserid"].Health.Critical {
		t.Error("browserid is not critical for the heartbeat")
	}
	tests := []struct {
		path, backend string
	}{
		{"/verify", "verifier"},
		{"/wsapi/session_context", "browserid"},
		{"/wsapi/authenticate_user", "browserid"},
		{"/wsapi/list_emails", "browserid"},
		{"/wsapi/", "browserid"},
		{"/", "static"},
		{"/sign_in", "static"},
		{"/verify/extra", "static"},
		{"/wsapi", "static"},
	}
	for _, op := range dbwriterOps {
		tests = append(tests, struct{ path, backend string }{"/wsapi/" + op, "dbwriter"})
	}
	for _, tt := range tests {
		if got, _ := routeFor(c, tt.path); got != tt.backend {
			t.Errorf("%s goes to %q, want %q", tt.path, got, tt.backend)
		}
	}
	if _, r := routeFor(c, "/wsapi/session_context"); r.Stats.Name != "wsapi" || !r.Stats.PerAPI {
		t.Errorf("/wsapi/ route stats = %+v, want wsapi per_api", r.Stats)
	}
	if _, r := routeFor(c, "/wsapi/authenticate_user"); r.Abuse != "auth" {
		t.Errorf("authenticate_user route abuse = %q, want auth", r.Abuse)
	}
}
