// Package testutil holds the helpers that tests in several packages share:
// a settable clock, an address nobody listens on, and the rule that a test
// needing an outside tool skips when the tool is missing but fails in CI.
//
// It is imported only from _test.go files and from other test-support
// packages under internal/.
package testutil
