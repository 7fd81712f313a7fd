package main

import (
	"bufio"
	"context"
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

// TestDemoUpStopsCleanlyOnSIGTERM runs demo-up as make does (the built binary, -keep)
// with short traffic phases, waits until it says the stack stays up, opens the Status
// page it prints, and sends SIGTERM: the demo exits 0, and no process it started
// (Azurite, the handler) is left, nor its settings file.
func TestDemoUpStopsCleanlyOnSIGTERM(t *testing.T) {
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
	build := exec.Command("go", "build", "-o", bin, "./cmd/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-keep", "-agreements", "6", "-load", "3s", "-dr-load", "2s")
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
	settings := filepath.Join(root, settingsDir, "local.settings.json")
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
