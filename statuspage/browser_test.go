package statuspage_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"integration-dr/dev/hostsim"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// The page's CSP, as handlers/status.go serves it; the browser must render the page
// under it.
const wantCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// Where the screenshot is kept: the test's artefact (git-ignored), and the README's
// copy, written only when UPDATE_SCREENSHOT=1.
var (
	artefactDir = filepath.Join("testdata", "artefacts")
	docsShot    = filepath.Join("..", "docs", "status-page.png")
)

// TestBrowserRendersStatusPage serves the sample overview through the real Status
// function (handlers.Handler behind the Functions host simulator, so the host's HTTP
// response binding carries the page and its headers) and has headless Chromium render
// it: what a person sees must hold the pairs, their lags and the last operation, and
// the inline CSS must apply under the page's CSP.
func TestBrowserRendersStatusPage(t *testing.T) {
	chromium := findChromium(t)
	url := serveStatus(t, sampleOverview())
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()

	// What the host hands the browser: the page, as HTML, under the CSP.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8") // as a browser asks
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET status page: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q, want text/html", ct)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
		t.Fatalf("Content-Security-Policy = %q, want %q", got, wantCSP)
	}

	dom := runChromium(ctx, t, chromium, "--dump-dom", url)
	if err := os.MkdirAll(artefactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeArtefact(t, filepath.Join(artefactDir, "status.dom.html"), dom)
	for _, want := range []string{pairA, pairB, lagAText, lagBText, lastOpID, lastOpRTO, fenceReason, ssisPair, unreadable} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("the rendered DOM lacks %q (saved in %s)", want, filepath.Join(artefactDir, "status.dom.html"))
		}
	}

	shot, err := filepath.Abs(filepath.Join(artefactDir, "status.png"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(shot) // a stale screenshot must not pass for a new one
	runChromium(ctx, t, chromium, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars", url)
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 640 || b.Dy() < 480 {
		t.Fatalf("screenshot is %dx%d, want at least 640x480", b.Dx(), b.Dy())
	}
	// The header band is dark only if the inline CSS applied: under a CSP that
	// blocked it the page would be black on white.
	if r, g, bl, _ := img.At(4, 4).RGBA(); r>>8 > 80 || g>>8 > 80 || bl>>8 > 100 {
		t.Errorf("top-left pixel is rgb(%d,%d,%d): the inline CSS did not apply under the CSP", r>>8, g>>8, bl>>8)
	}
	t.Logf("screenshot: %s (%dx%d)", shot, b.Dx(), b.Dy())

	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		if err := os.MkdirAll(filepath.Dir(docsShot), 0o755); err != nil {
			t.Fatal(err)
		}
		writeArtefact(t, docsShot, raw)
		t.Logf("updated %s", docsShot)
	}
}

// findChromium returns the browser, or skips the test where it is not installed;
// CI installs it (.ci/run, make browser-deps), so there its absence fails.
func findChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing, and CI must run the browser test: install Debian's chromium (make browser-deps)", chromiumPath)
			}
			t.Skipf("skipping: %s is not installed (make browser-deps installs it)", chromiumPath)
		}
	}
	return path
}

// runChromium runs headless Chromium once, in a profile of its own, with everything
// that would reach beyond this machine turned off, and returns its standard output.
func runChromium(ctx context.Context, t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // a helper process holding the pipes must not hang the test
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

func writeArtefact(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// serveStatus runs the real handler with its overview sources stubbed from o, behind
// the Functions host simulator, and returns the URL a browser opens: a front server
// that hands each request to the host's Status function as the host would.
func serveStatus(t *testing.T, o overview.Overview) string {
	t.Helper()
	h := &handlers.Handler{
		Overview: overview.Sources{
			Streams: streamsStub(o.Streams), Journal: journalStub{pending: o.Pending, ops: o.Operations, broken: unreadable},
			Readiness: readinessStub(o.Readiness), SSIS: ssisStub(o.SSIS),
			Pairs: append(pairNames(o), unreadable), Now: func() time.Time { return o.Generated },
			ReadinessEvery: o.ReadinessEvery,
		},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Timeout: 10 * time.Second,
	}
	handler := httptest.NewServer(h)
	t.Cleanup(handler.Close)

	app, err := hostsim.Load(filepath.Join("..", "functions"), map[string]string{
		"DR_REPLICATION_SCHEDULE": "0 */1 * * * *", "DR_OPERATIONS_SCHEDULE": "*/10 * * * * *",
		"DR_SSIS_SCHEDULE": "0 */1 * * * *", "DR_COMMAND_QUEUE": "dr-commands",
		"ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	host := hostsim.New(app, handler.URL, hostsim.Options{})
	front := httptest.NewServer(host.Handler(handlers.FnStatus))
	t.Cleanup(front.Close)
	// No ?format=html: the page must come from the browser's own Accept header.
	return front.URL + "/api/status"
}

func pairNames(o overview.Overview) []string {
	var names []string
	seen := map[string]bool{}
	for _, op := range o.Operations {
		if !seen[op.Pair] {
			seen[op.Pair] = true
			names = append(names, op.Pair)
		}
	}
	return names
}

type streamsStub []replication.StreamStatus

func (s streamsStub) Status(context.Context) ([]replication.StreamStatus, error) { return s, nil }

type readinessStub []failover.Report

func (s readinessStub) LastReadiness(_ context.Context, pair string) (failover.Report, error) {
	for _, r := range s {
		if r.Pair == pair {
			return r, nil
		}
	}
	return failover.Report{}, drerr.Errorf(drerr.NotFound, "readiness", "no report for %s", pair)
}

// unreadable is a pair whose journal cannot be read: the page names it in its
// warning box and shows the rest.
const unreadable = "legacy-as2"

type journalStub struct {
	pending, ops []journal.Operation
	broken       string
}

func (j journalStub) ListPending(context.Context) ([]journal.Operation, error) { return j.pending, nil }

func (j journalStub) List(_ context.Context, pair string, limit int) ([]journal.Operation, error) {
	if pair == j.broken {
		return nil, drerr.Errorf(drerr.Unavailable, "list operations", "table storage: 503 Server Busy")
	}
	var out []journal.Operation
	for _, op := range j.ops {
		if op.Pair == pair && (limit <= 0 || len(out) < limit) {
			out = append(out, op)
		}
	}
	return out, nil
}

type ssisStub []ssis.PairStatus

func (s ssisStub) Status(context.Context) ([]ssis.PairStatus, error) { return s, nil }

var (
	_ overview.Streams   = streamsStub(nil)
	_ overview.Journal   = journalStub{}
	_ overview.Readiness = readinessStub(nil)
	_ overview.SSIS      = ssisStub(nil)
)
