package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// JSONFields returns the top-level scalar fields of a JSON object body:
// strings as they are, numbers as written, booleans as "true"/"false",
// null as "". Objects and arrays are left out; a field given twice keeps
// its first value; at most maxMapEntries fields. A body that is not a
// JSON object (or is cut short) gives the fields read before the fault.
func JSONFields(body []byte) map[string]string {
	m := map[string]string{}
	if len(body) == 0 {
		return m
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return m
	}
	for d.More() && len(m) < maxMapEntries {
		kt, err := d.Token()
		if err != nil {
			return m
		}
		k, _ := kt.(string)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return m
		}
		v, ok := scalar(raw)
		if _, seen := m[k]; ok && !seen {
			m[k] = v
		}
	}
	return m
}

// scalar is raw's text when it is a string, number, boolean or null.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '{', '[':
		return "", false
	case '"':
		s, err := strconv.Unquote(string(raw))
		if err != nil {
			var u string
			if json.Unmarshal(raw, &u) != nil {
				return "", false
			}
			s = u
		}
		return s, true
	case 'n':
		return "", true
	}
	return string(raw), true
}
