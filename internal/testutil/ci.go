package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where every outside
// tool a test needs is installed.
func CI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips t for a missing prerequisite, or fails it when CI is
// true: CI must have everything the tests need, so a skip there would hide
// a broken setup.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Tool returns the path of the outside program name, or skips t (fails it
// in CI) when it is not installed; hint, when not empty, says where it
// comes from.
func Tool(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if hint != "" {
			hint = " (" + hint + ")"
		}
		SkipOrFail(t, "%s not installed%s: %v", name, hint, err)
	}
	return p
}
