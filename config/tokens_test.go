package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alice, bob := write("alice", "  a-token\n"), write("bob", "b-token")
	empty, twoWords := write("empty", "\n"), write("two", "a b\n")

	c, err := Load([]byte(minimal + `admin:
  listen: 0.0.0.0:9901
  tokens:
    - {name: alice, token_file: ` + alice + `}
    - {name: bob, token_file: ` + bob + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Admin.Tokens; len(got) != 2 || got[0].Token != "a-token" || got[1].Name != "bob" || got[1].Token != "b-token" {
		t.Fatalf("tokens %+v", got)
	}

	// A relative token_file is read next to the config file.
	cfgFile := write("bulwark.yaml", minimal+"admin: {tokens: [{name: alice, token_file: alice}]}\n")
	if c, err := LoadFile(cfgFile); err != nil || c.Admin.Tokens[0].Token != "a-token" {
		t.Fatalf("relative token_file: %v", err)
	}

	_, err = Load([]byte(minimal + `admin:
  tokens:
    - {name: alice, token_file: ` + alice + `}
    - {name: alice, token_file: ` + filepath.Join(dir, "missing") + `}
    - {name: token, token_file: ` + empty + `}
    - {name: "x y", token_file: ` + twoWords + `}
    - {name: carol}
`))
	want := []string{
		"admin.tokens[1].name: duplicate name \"alice\" (line 9)",
		"admin.tokens[1].token_file: cannot read the token",
		"admin.tokens[2].name: \"token\" is reserved",
		"admin.tokens[2].token_file: token file " + empty + " is empty (line 10)",
		"admin.tokens[3].name: invalid name \"x y\"",
		"admin.tokens[3].token_file: token file " + twoWords + " must hold one token on one line",
		"admin.tokens[4].token_file: required",
	}
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}
