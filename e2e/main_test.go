package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-router/bulwark/internal/redistest"
	"go.uber.org/goleak"
)

// binDir holds the binaries built for this run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulwark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := redistest.Main(m).Run() // kills the shared cluster and sentinels
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// binaries builds ./cmd/bulwark and ./e2e/testbackend once per run and
// returns their paths.
func binaries(t *testing.T) (bulwark, testbackend string) {
	t.Helper()
	buildOnce.Do(func() { buildErr = build(binDir) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "bulwark"), filepath.Join(binDir, "testbackend")
}

func build(dir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("not inside a module (go env GOMOD = %q)", gomod)
	}
	root := filepath.Dir(gomod)
	for name, pkg := range map[string]string{"bulwark": "./cmd/bulwark", "testbackend": "./e2e/testbackend"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}
