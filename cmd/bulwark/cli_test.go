package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// problemLine is how -check reports one problem.
var problemLine = regexp.MustCompile(`^\S+: .+ \(line \d+\)$`)

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	strict := filepath.Join(dir, "strict.yaml")
	writeFile(t, strict, `listen: 127.0.0.1:0
backends: {app: {targets: ["http://127.0.0.1:1"]}}
routes:
  - {match: {path: /login}, backend: app, limit: login, abuse: auth}
limits:
  login: {rate: 1/m, burst: 3}
abuse:
  auth_failures: {max: 5}
`)
	writeFile(t, good, "listen: 127.0.0.1:0\nbackends: {app: {targets: [\"http://127.0.0.1:1\"]}}\nroutes: [{backend: app}]\n")
	writeFile(t, bad, `listen: 127.0.0.1:0
bogus: 1
backends:
  app: {targets: ["ftp://x"]}
routes: [{backend: nope}]
`)

	tests := []struct {
		name       string
		args       []string
		env        string // BULWARK_CONFIG
		wantCode   int
		wantStdout string
		// wantProblems are the field paths -check must report, one per line.
		wantProblems []string
		wantStderr   string
	}{
		{name: "check good", args: []string{"-config", good, "-check"}, wantStdout: "config ok\n"},
		{name: "check good from env", args: []string{"-check"}, env: good, wantStdout: "config ok\n"},
		{name: "check strict auth route", args: []string{"-config", strict, "-check"}, wantStdout: "config ok\n",
			wantStderr: "warning: routes[0].abuse: limits.login.burst (3) is not above abuse.auth_failures.max (5): " +
				"a client trying passwords is refused with 429 before its 6th failure can ban it for abuse.ban.duration (1m0s); " +
				"raise the burst above 5, or lower auth_failures.max below 3 (line 4)\n"},
		{name: "check bad", args: []string{"-config", bad, "-check"}, wantCode: 1,
			wantProblems: []string{"bogus", "backends.app.targets[0]", "routes[0].backend"}},
		{name: "version", args: []string{"-version"},
			wantStdout: fmt.Sprintf("bulwark %s (commit %s, %s)\n", testVersion, testCommit, runtime.Version())},
		{name: "no config", wantCode: 1, wantStderr: "-config"},
		{name: "missing file", args: []string{"-config", filepath.Join(dir, "absent.yaml")}, wantCode: 1, wantStderr: "absent.yaml"},
		{name: "unknown flag", args: []string{"-nope"}, wantCode: 1, wantStderr: "-nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, tt.args...)
			cmd.Env = append(procEnv(), "BULWARK_CONFIG="+tt.env)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			if code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d\nstdout: %s\nstderr: %s", code, err, tt.wantCode, stdout.String(), stderr.String())
			}
			if tt.wantStdout != "" && stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStderr != "" && !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantProblems != nil {
				checkProblems(t, stderr.String(), tt.wantProblems)
			}
		})
	}
}

// checkProblems wants out to be the file name, then one
// `field.path: message (line N)` line per wanted path, in order.
func checkProblems(t *testing.T, out string, paths []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(paths)+1 {
		t.Fatalf("-check printed %d lines, want the file name and %d problems:\n%s", len(lines), len(paths), out)
	}
	for i, path := range paths {
		l := lines[i+1]
		if !problemLine.MatchString(l) || !strings.HasPrefix(l, path+": ") {
			t.Errorf("problem %d = %q, want `%s: message (line N)`", i, l, path)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
