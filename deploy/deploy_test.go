// Package deploy_test checks the deployment files: the systemd unit with
// systemd-analyze, the Dockerfile's key lines, and, where a container
// engine runs, the image itself.
package deploy_test

import (
	"bufio"
	"context"
	"github.com/bulwark-router/bulwark/internal/testutil"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// directives reads a unit or Dockerfile: each directive's values, comments
// and continuation lines left out.
func directives(t *testing.T, file, sep string) map[string][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			out[cont][len(out[cont])-1] += " " + strings.TrimSuffix(line, "\\")
			if !strings.HasSuffix(line, "\\") {
				cont = ""
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, sep)
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		out[k] = append(out[k], strings.TrimSuffix(v, "\\"))
		if strings.HasSuffix(v, "\\") {
			cont = k
		}
	}
	return out
}

func TestSystemdUnitKeyLines(t *testing.T) {
	d := directives(t, "bulwark.service", "=")
	want := map[string]string{
		"ExecStartPre":    "/usr/local/bin/bulwark -check",
		"ExecReload":      "/bin/kill -HUP $MAINPID",
		"KillSignal":      "SIGTERM",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"DynamicUser":     "yes",
		"Environment":     "BULWARK_CONFIG=/etc/bulwark/bulwark.yaml",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Above the default shutdown_grace (30s), with room for drain_delay.
	stop, err := time.ParseDuration(strings.Join(d["TimeoutStopSec"], ""))
	if err != nil || stop <= 30*time.Second {
		t.Errorf("TimeoutStopSec = %q, want more than shutdown_grace's 30s", d["TimeoutStopSec"])
	}
	// No capability unless a port below 1024 asks for one.
	if got := d["AmbientCapabilities"]; len(got) != 0 {
		t.Errorf("AmbientCapabilities = %q, want none by default", got)
	}
	if got := d["CapabilityBoundingSet"]; len(got) != 1 || got[0] != "" {
		t.Errorf("CapabilityBoundingSet = %q, want empty", got)
	}
}

// systemd-analyze verify passes on the unit, with the binary it names.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := testutil.Tool(t, "systemd-analyze", "")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bulwark")
	build := exec.Command("go", "build", "-o", bin, "../cmd/bulwark")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	unit, err := os.ReadFile("bulwark.service")
	if err != nil {
		t.Fatal(err)
	}
	unitFile := filepath.Join(dir, "bulwark.service")
	if err := os.WriteFile(unitFile, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/bulwark", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", unitFile).CombinedOutput()
	if err != nil || strings.Contains(string(out), "bulwark.service") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestDockerfileKeyLines(t *testing.T) {
	d := directives(t, "Dockerfile", " ")
	from := d["FROM"]
	if len(from) < 2 || !strings.HasSuffix(from[0], "AS build") || from[len(from)-1] != "scratch" {
		t.Errorf("FROM = %q, want a build stage and a scratch image", from)
	}
	if run := strings.Join(d["RUN"], "\n"); !strings.Contains(run, "CGO_ENABLED=0") || !strings.Contains(run, "main.version=") {
		t.Errorf("RUN = %q, want a static build stamped with the version", d["RUN"])
	}
	if u := d["USER"]; len(u) != 1 || strings.HasPrefix(u[0], "0") || strings.HasPrefix(u[0], "root") {
		t.Errorf("USER = %q, want an unprivileged user", u)
	}
	if s := d["STOPSIGNAL"]; len(s) != 1 || s[0] != "SIGTERM" {
		t.Errorf("STOPSIGNAL = %q", s)
	}
	if h := strings.Join(d["HEALTHCHECK"], " "); !strings.Contains(h, `"-healthcheck"`) {
		t.Errorf("HEALTHCHECK = %q, want bulwark -healthcheck", h)
	}
}

// The image builds, and its container answers /__lbheartbeat__ and turns
// healthy; skipped where no container engine runs.
func TestDockerImage(t *testing.T) {
	docker := testutil.Tool(t, "docker", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := exec.CommandContext(ctx, docker, "info").Run(); err != nil {
		t.Skip("no container engine running")
	}
	tag := "bulwark-test:deploy"
	if out, err := exec.CommandContext(ctx, docker, "build", "-f", "Dockerfile", "-t", tag, "..").CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, docker, "run", "-d", "--rm", "-p", "127.0.0.1::8080", tag, "-demo").Output()
	if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(docker, "stop", id).Run() })
	port, err := exec.CommandContext(ctx, docker, "port", id, "8080").Output()
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(strings.Split(string(port), "\n")[0])
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/__lbheartbeat__")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container does not answer /__lbheartbeat__: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		st, _ := exec.CommandContext(ctx, docker, "inspect", "-f", "{{.State.Health.Status}}", id).Output()
		if strings.TrimSpace(string(st)) == "healthy" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's health is %q", st)
		}
		time.Sleep(time.Second)
	}
}
