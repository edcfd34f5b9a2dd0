package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxTokenFile bounds an admin token file.
const maxTokenFile = 4 << 10

// readTokenFiles fills each admin.tokens entry's Token from its file; a
// relative path is read from dir (the config file's), "" meaning the
// working directory.
func (c *Config) readTokenFiles(dir string) Errors {
	var errs Errors
	for i := range c.Admin.Tokens {
		t := &c.Admin.Tokens[i]
		if t.TokenFile == "" {
			continue // Validate reports it
		}
		p := fmt.Sprintf("admin.tokens[%d].token_file", i)
		path := t.TokenFile
		if dir != "" && !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		tok, err := readToken(path)
		if err != nil {
			errs = append(errs, &FieldError{Path: p, Line: c.Line(p), Msg: err.Error()})
			continue
		}
		t.Token = tok
	}
	return errs
}

func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the token: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the token: %v", err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("token file larger than %d bytes", maxTokenFile)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("token file %s must hold one token on one line", path)
	}
	return tok, nil
}

// adminTokens checks admin.tokens: a unique name and a file for each.
func (v *validator) adminTokens() {
	seen := map[string]bool{}
	for i, t := range v.c.Admin.Tokens {
		p := fmt.Sprintf("admin.tokens[%d]", i)
		switch {
		case !nameRE.MatchString(t.Name):
			v.fail(p+".name", "invalid name %q (want [A-Za-z0-9_.-], at most 64)", t.Name)
		case t.Name == "token" || t.Name == "loopback":
			v.fail(p+".name", "%q is reserved for admin.token and tokenless access", t.Name)
		case seen[t.Name]:
			v.fail(p+".name", "duplicate name %q", t.Name)
		}
		seen[t.Name] = true
		if t.TokenFile == "" {
			v.fail(p+".token_file", "required")
		}
	}
}

// readKeySecret fills abuse.key_secret from abuse.key_secret_file, else
// from abuse.token.secret_file.
func (c *Config) readKeySecret(dir string) Errors {
	path, p := c.Abuse.KeySecretFile, "abuse.key_secret_file"
	if path == "" {
		// The fleet's reputation-token key serves as well; the router
		// reports that file's problems.
		if b, err := os.ReadFile(c.Abuse.Token.SecretFile); err == nil && c.Abuse.Token.SecretFile != "" {
			c.Abuse.KeySecret = strings.TrimSpace(string(b))
		}
		return nil
	}
	if dir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	tok, err := readToken(path)
	if err != nil {
		return Errors{{Path: p, Line: c.Line(p), Msg: strings.Replace(err.Error(), "token", "secret", 1)}}
	}
	c.Abuse.KeySecret = tok
	return nil
}
