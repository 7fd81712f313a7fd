package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BuildHandler compiles cmd/handler into dir and returns the executable's path. It
// builds with the standin tag, which lets DR_SQL_STANDIN send SSISDB's statements to
// the in-memory stand-in (dev/sqlstandin); builds for Azure never have it.
func BuildHandler(ctx context.Context, dir string) (string, error) {
	root, err := ProjectRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "handler")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "standin", "-o", bin, "./cmd/handler")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build handler: %w: %s", err, out)
	}
	return bin, nil
}

// Handler is a running handler process.
type Handler struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartHandler starts the handler binary as the Functions host would: with its app
// settings in the environment and FUNCTIONS_CUSTOMHANDLER_PORT set, then waits for
// GET / to answer. log receives the handler's output.
func StartHandler(ctx context.Context, bin string, env map[string]string, log io.Writer) (*Handler, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	h := &Handler{Port: port, URL: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{})}
	h.cmd = exec.Command(bin)
	h.cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	for k, v := range env {
		h.cmd.Env = append(h.cmd.Env, k+"="+v)
	}
	h.cmd.Stdout, h.cmd.Stderr = log, log
	// A process group of its own: a Ctrl-C at the terminal reaches whoever started
	// it, which stops it in order (after the invocations under way), not the handler
	// itself mid-invocation.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start handler: %w", err)
	}
	go func() { _ = h.cmd.Wait(); close(h.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.URL + "/")
		if err == nil {
			_ = resp.Body.Close() // it answered: that was the question
			return h, nil
		}
		select {
		case <-h.done:
			return nil, fmt.Errorf("handler exited before it was ready (exit %v)", h.cmd.ProcessState)
		case <-ctx.Done():
			h.Kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.Kill()
			return nil, fmt.Errorf("handler not ready after 30s")
		}
	}
}

// Kill ends the handler at once, as a crash or a scale-in would.
func (h *Handler) Kill() {
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.done
}

// Terminate sends SIGTERM, as the host does on shutdown, and waits for the exit.
func (h *Handler) Terminate() error {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	<-h.done
	if !h.cmd.ProcessState.Success() {
		return fmt.Errorf("handler exited with %v", h.cmd.ProcessState)
	}
	return nil
}

// PeakRSS returns the process's peak resident memory so far, in MiB (Linux only).
func (h *Handler) PeakRSS() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", h.cmd.Process.Pid)
}

// Exited reports whether the process has ended.
func (h *Handler) Exited() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// Reply is the handler's answer as the host would read it.
type Reply struct {
	Status      int
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// Invoke POSTs an invocation to a function, as the host does.
func Invoke(ctx context.Context, baseURL, function string, payload []byte) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/"+function, bytes.NewReader(payload))
	if err != nil {
		return Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Azure-Functions-Host/4.0 (local stack)")
	req.Header.Set("X-Azure-Functions-InvocationId", fmt.Sprintf("local-%d", time.Now().UnixNano()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer func() { _ = resp.Body.Close() }() // read whole below; its read error is the one that counts
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{Status: resp.StatusCode}, err
	}
	r := Reply{Status: resp.StatusCode}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("reply is not a JSON object (status %d): %q", resp.StatusCode, body)
	}
	return r, nil
}

// TimerPayload is the host's timer invocation for a tick at now.
func TimerPayload(function string, last, now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"timer": map[string]any{
			"Schedule": map[string]any{"AdjustForDST": true},
			"ScheduleStatus": map[string]any{
				"Last": last.Format(time.RFC3339Nano), "Next": now.Add(time.Minute).Format(time.RFC3339Nano), "LastUpdated": last.Format(time.RFC3339Nano),
			},
			"IsPastDue": false,
		}},
		"Metadata": map[string]any{"sys": map[string]any{"MethodName": function, "UtcNow": now.Format(time.RFC3339Nano), "RandGuid": "00000000-0000-0000-0000-000000000000"}},
	})
	return b
}
