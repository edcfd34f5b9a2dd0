package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a config file.
type FieldError struct {
	Path string // "routes[2].backend"
	Line int    // 0 when unknown
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: %s (line %d)", e.Path, e.Msg, e.Line)
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in a file, in file order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// defaulter is implemented by types whose new elements (in a map or a list)
// start from defaults rather than zero values.
type defaulter interface{ setDefaults() }

// shorthand is implemented by mapping types that may also be written as a
// single scalar (a backend target as its URL alone).
type shorthand interface{ setScalar(string) }

// unitTypes are the types written as one scalar with a unit: what the
// value must be, and its parser.
var unitTypes = map[reflect.Type]struct {
	what  string
	parse func(string) (any, error)
}{
	reflect.TypeFor[Duration](): {"a duration", parseAs(ParseDuration)},
	reflect.TypeFor[Size]():     {"a size", parseAs(ParseSize)},
	reflect.TypeFor[Rate]():     {"a rate", parseAs(ParseRate)},
	reflect.TypeFor[ByteRate](): {"a byte rate", parseAs(ParseByteRate)},
}

func parseAs[T any](parse func(string) (T, error)) func(string) (any, error) {
	return func(s string) (any, error) { return parse(s) }
}

// decoder walks a yaml.Node tree into Go values, strictly: unknown keys,
// duplicate keys and type mismatches are errors that name the field path.
type decoder struct {
	lines map[string]int
	errs  Errors
}

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	if path == "" {
		path = "(root)"
	}
	d.errs = append(d.errs, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.fail(path, n, "unresolved alias")
			return
		}
		n = n.Alias
	}
	if path != "" {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// An explicit null leaves the default in place.
		return
	}
	if n.Kind == yaml.ScalarNode && v.CanAddr() {
		if sh, ok := v.Addr().Interface().(shorthand); ok {
			sh.setScalar(n.Value)
			return
		}
	}
	if u, ok := unitTypes[v.Type()]; ok {
		if s, ok := d.scalar(n, path, u.what); ok {
			x, err := u.parse(s)
			if err != nil {
				d.fail(path, n, "%v", err)
				return
			}
			v.Set(reflect.ValueOf(x))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			nv := reflect.New(v.Type().Elem())
			if df, ok := nv.Interface().(defaulter); ok {
				df.setDefaults()
			}
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

// decodeScalar decodes a string, a boolean or a number.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.scalar(n, path, "true or false"); ok {
			switch strings.ToLower(s) {
			case "true", "yes", "on":
				v.SetBool(true)
			case "false", "no", "off":
				v.SetBool(false)
			default:
				d.fail(path, n, "invalid boolean %q (want true or false)", s)
			}
		}
	case reflect.Int, reflect.Int64:
		if s, ok := d.scalar(n, path, "an integer"); ok {
			x, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
			if err != nil || (v.Kind() == reflect.Int && int64(int(x)) != x) {
				d.fail(path, n, "invalid integer %q", s)
				return
			}
			v.SetInt(x)
		}
	case reflect.Float64:
		if s, ok := d.scalar(n, path, "a number"); ok {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				d.fail(path, n, "invalid number %q", s)
				return
			}
			v.SetFloat(x)
		}
	default:
		d.fail(path, n, "unsupported field type %s", v.Type())
	}
}

func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "expected %s, got %s", want, kindName(n.Kind))
		return "", false
	}
	return n.Value, true
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldIndex maps t's yaml keys to its field indexes and returns the keys
// sorted.
func fieldIndex(t reflect.Type) (map[string]int, []string) {
	idx := make(map[string]int, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		idx[tag] = i
		names = append(names, tag)
	}
	sort.Strings(names)
	return idx, names
}

func (d *decoder) keys(n *yaml.Node, path string) (pairs [][2]*yaml.Node, ok bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(path, n, "expected a mapping, got %s", kindName(n.Kind))
		return nil, false
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k, "keys must be strings")
			continue
		}
		if k.Value == "<<" {
			d.fail(path, k, "merge keys are not supported")
			continue
		}
		if seen[k.Value] {
			d.fail(join(path, k.Value), k, "duplicate key")
			continue
		}
		seen[k.Value] = true
		pairs = append(pairs, [2]*yaml.Node{k, val})
	}
	return pairs, true
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.keys(n, path)
	if !ok {
		return
	}
	idx, names := fieldIndex(v.Type())
	for _, p := range pairs {
		k, val := p[0], p[1]
		i, known := idx[k.Value]
		if !known {
			d.fail(join(path, k.Value), k, "unknown key (%sknown: %s)", didYouMean(k.Value, names, "? "), strings.Join(names, ", "))
			continue
		}
		d.decode(val, v.Field(i), join(path, k.Value))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.keys(n, path)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(v.Type(), len(pairs)))
	}
	et := v.Type().Elem()
	for _, p := range pairs {
		k, val := p[0], p[1]
		ep := join(path, k.Value)
		d.lines[ep] = k.Line
		ev := reflect.New(et).Elem()
		if et.Kind() == reflect.Pointer {
			ev.Set(reflect.New(et.Elem()))
			if df, ok := ev.Interface().(defaulter); ok {
				df.setDefaults()
			}
		}
		d.decode(val, ev, ep)
		d.lines[ep] = k.Line
		v.SetMapIndex(reflect.ValueOf(k.Value), ev)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(path, n, "expected a list, got %s", kindName(n.Kind))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, el := range n.Content {
		ev := s.Index(i)
		if df, ok := ev.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(el, ev, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}
