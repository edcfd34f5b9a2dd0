package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// checkLogLines reports the first line of out that is not one JSON object
// with unique keys at every depth, as the binary promises for its stderr. A
// last line without its newline (the process killed mid-write) is skipped.
func checkLogLines(out []byte) error {
	lines := bytes.Split(out, []byte("\n"))
	lines = lines[:len(lines)-1] // after the last newline: empty or cut short
	for i, l := range lines {
		if err := checkJSONObject(l); err != nil {
			return fmt.Errorf("log line %d: %v: %.300s", i+1, err, l)
		}
	}
	return nil
}

// checkJSONObject reports whether b holds exactly one JSON object whose
// objects, at every depth, have no key twice.
func checkJSONObject(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	if err := checkObject(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("more after the object")
	}
	return nil
}

// checkObject reads the rest of an object whose '{' was read.
func checkObject(dec *json.Decoder) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k := tok.(string) // the decoder only yields strings as keys
		if seen[k] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[k] = true
		if err := checkValue(dec); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// checkValue reads one value, checking the objects in it.
func checkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return checkObject(dec)
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return err
	}
	return nil
}

func TestCheckLogLines(t *testing.T) {
	tests := []struct {
		give    string
		wantErr string // "" for none
	}{
		{"", ""},
		{`{"level":"info","msg":"serving"}` + "\n", ""},
		{`{"a":{"b":1,"c":[{"d":1},{"d":2}]},"e":[]}` + "\n", ""},
		{`{"level":"warn","msg":"cut short`, ""}, // no newline: skipped
		{`{"level":"warn","ts":"2026-12-05T10:00:00.000Z","msg":"client banned","client":"198.51.100.7","why":"rejections","for":120,"level":1}` + "\n",
			`duplicate key "level"`},
		{`{"a":{"b":1,"b":2}}` + "\n", `a: duplicate key "b"`},
		{`{"a":[{"b":1,"b":2}]}` + "\n", `a: duplicate key "b"`},
		{"panic: boom\n", "invalid character"},
		{`["not","an","object"]` + "\n", "not a JSON object"},
		{`{"a":1}{"b":2}` + "\n", "more after the object"},
		{`{"a":1` + "\n", "EOF"},
	}
	for _, tt := range tests {
		err := checkLogLines([]byte(tt.give))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.give, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: got %v, want %q", tt.give, err, tt.wantErr)
		}
	}
}
