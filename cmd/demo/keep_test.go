package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"integration-dr/dev/localstack"
)

// TestDemoUpIsAStackToPractiseOnThatStopsCleanly runs demo-up as make does (the built
// binary, -keep) with short traffic phases, waits until it says the stack stays up,
// opens the Status page it prints, runs a failover and a fallback with drctl --direct
// --wait against it (each ends alone), and sends SIGTERM: the demo exits 0, and no
// process it started (Azurite, the handler) is left, nor its settings file.
func TestDemoUpIsAStackToPractiseOnThatStopsCleanly(t *testing.T) {
	root, err := localstack.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localstack.AzuriteBinary(); err != nil {
		t.Fatal(err) // `make deps` installs it: never skipped
	}
	// Every process the demo starts has this folder in its command line (Azurite's
	// data, the handler's binary): what is left of the demo is what names it.
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "demo")
	drctl := filepath.Join(tmp, "drctl")
	for _, b := range [][]string{{"-o", bin, "./cmd/demo"}, {"-tags", "standin", "-o", drctl, "./cmd/drctl"}} {
		build := exec.Command("go", append([]string{"build"}, b...)...)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	// Its own settings folder: a stack an engineer keeps up meanwhile keeps its own.
	settingsDir := filepath.Join(tmp, "settings")
	cmd := exec.Command(bin, "-keep", "-settings-dir", settingsDir, "-agreements", "6", "-load", "3s", "-dr-load", "2s")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out strings.Builder
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL) })

	statusURL := regexp.MustCompile(`Status page: (http://127\.0\.0\.1:\d+/api/status)`)
	var page string
	deadline := time.After(6 * time.Minute)
	for up := false; !up; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before it stayed up: %v\n%s\nstderr:\n%s", <-exited, out.String(), stderr.String())
			}
			out.WriteString(l + "\n")
			if m := statusURL.FindStringSubmatch(l); m != nil {
				page = m[1]
			}
			up = strings.HasPrefix(l, "Stop it with Ctrl-C, or kill -TERM")
		case <-deadline:
			t.Fatalf("the demo did not stay up in time:\n%s", out.String())
		}
	}
	settings := filepath.Join(settingsDir, "local.settings.json")
	if _, err := os.Stat(settings); err != nil {
		t.Errorf("the settings the drctl lines read: %v", err)
	}
	if page == "" {
		t.Fatalf("no Status page URL on 127.0.0.1:\n%s", out.String())
	}
	req, _ := http.NewRequest(http.MethodGet, page, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "contoso-b2b") {
		t.Errorf("status page: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// What an operator practises: a failover and a fallback with the function app's
	// queue absent, each ending alone, the fallback's events one JSON object a line.
	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(drctl, append([]string{"--settings", settings}, args...)...)
		c.Dir = root
		var errOut strings.Builder
		c.Stderr = &errOut
		got, err := c.Output()
		if err != nil {
			t.Fatalf("drctl %s: %v\n%s\n%s", strings.Join(args, " "), err, got, errOut.String())
		}
		return string(got)
	}
	run("failover", "--pair", localstack.PairName, "--reason", "drill", "--direct", "--wait", "--timeout", "3m")
	events := strings.Split(strings.TrimSpace(run("fallback", "--pair", localstack.PairName, "--direct", "--wait", "--json", "--timeout", "3m")), "\n")
	for _, l := range events {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Errorf("fallback --json: not a JSON line: %q", l)
		}
	}
	if last := events[len(events)-1]; !strings.Contains(last, `"state":"succeeded"`) {
		t.Errorf("fallback did not end succeeded: %s", last)
	}

	if left := processesNaming(t, tmp); len(left) < 2 {
		t.Errorf("precondition: Azurite and the handler should be running under %s, found %v", tmp, left)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for l := range lines {
			out.WriteString(l + "\n")
		}
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("SIGTERM: the demo exited with %v, want 0\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the demo did not exit after SIGTERM")
	}
	// Its children are waited for before it exits; this only allows for the kernel's
	// bookkeeping.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for left := processesNaming(t, tmp); len(left) > 0; left = processesNaming(t, tmp) {
		select {
		case <-ctx.Done():
			t.Fatalf("left running after SIGTERM: %v", left)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, err := os.Stat(settings); !os.IsNotExist(err) {
		t.Errorf("the settings file is left: %v", err)
	}
}

// processesNaming lists the command lines of running processes that name dir.
func processesNaming(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue // not a process, gone, or a zombie
		}
		if line := strings.ReplaceAll(string(raw), "\x00", " "); strings.Contains(line, dir) {
			out = append(out, e.Name()+": "+line)
		}
	}
	return out
}
