package config

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxScanLines bounds the files whose syntax errors are located line by
// line (a parse per line after the one yaml names).
const maxScanLines = 2000

// problemLine finds the line a YAML syntax error is really on. yaml.v3
// reports an error at the start of the block it was reading (an indentation
// mistake on line 5 inside a mapping that starts on line 2 says "line 2"),
// so the file is cut after each line from there on: the first cut that
// fails with the same message ends on the line at fault. yamlLine is the
// line yaml named, msg its message; yamlLine is returned when nothing
// better is found.
func problemLine(data []byte, yamlLine int, msg string) int {
	if bytes.Count(data, []byte("\n")) > maxScanLines {
		return yamlLine
	}
	end, line := 0, 0
	for end < len(data) {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			end = len(data)
		} else {
			end += i + 1
		}
		line++
		if line < yamlLine {
			continue
		}
		var n yaml.Node
		err := yaml.Unmarshal(data[:end], &n)
		if err != nil && strings.HasSuffix(err.Error(), ": "+msg) {
			return line
		}
	}
	return yamlLine
}

// syntaxHint adds what usually causes a YAML error to its message.
func syntaxHint(msg string) string {
	switch msg {
	case "did not find expected key", "did not find expected '-' indicator",
		"block sequence entries are not allowed in this context":
		return msg + " (check this line's indentation)"
	}
	return msg
}
