// Package pathnorm normalises the path of an HTTP request target before it is
// routed, so that every spelling of a path is matched, limited and counted as
// the one path it means: "/./a", "//a", "/x/../a" and "/%61" are all "/a".
//
// Normalize takes the path as it came on the wire (escaped, without the
// query) and returns two forms of it:
//
//   - Match, the form routes match: percent-decoded in full, with dot
//     segments removed and, with MergeSlashes, runs of slashes merged. An
//     escaped slash (%2F) is a slash here whatever EscapedSlashes says, so
//     "/a%2Fb" cannot slip past a route for "/a/". A backslash, raw or
//     escaped (%5C), is an ordinary character, not a separator.
//   - Send, the form the backend receives: escaped, with escapes of
//     unreserved characters (ALPHA DIGIT - . _ ~) decoded, the hex digits of
//     the other escapes in upper case, the bytes a path may not hold raw
//     escaped, dot segments removed and slashes merged as for Match.
//     EscapedSlashes decides what becomes of %2F and %5C.
//
// The steps follow RFC 3986 (section 6.2.2 for case and percent-encoding
// normalisation, section 5.2.4 for dot segments: ".." above the root stays
// at the root, as in Envoy and browsers) and Envoy's normalize_path,
// merge_slashes and path_with_escaped_slashes_action, with two differences:
// slashes are merged before dot segments are removed (as path.Clean does,
// so "/a//../b" is "/b"), and Match is decoded in full.
//
// A path that cannot be normalised safely is an error: one that does not
// start with "/", an invalid escape ("%zz", a trailing "%2"), a control byte
// raw or escaped ("%00", "%0A", "%7F"), or, with Reject, an escaped slash or
// a backslash.
//
// Normalize allocates nothing when the path is already normal (no '%', no
// backslash or other byte a path may not hold raw, no dot segment and, with
// MergeSlashes, no "//"): both forms are then the input itself.
package pathnorm
