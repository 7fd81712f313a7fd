package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"integration-dr/azure/tables"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/failover"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/view"
	"integration-dr/view/viewtest"
)

// Secret-shaped text, as an alert may carry it (a description pasting a connection
// string, a signed URL, a token): none of it may reach an operator's screen or a log.
var secrets = map[string]string{
	"storage key":   "Zm9vYmFyYmF6cXV4" + strings.Repeat("QUJDREVGR0hJSktMTU5PUA", 3) + "c2VjcmV0a2V5c2VjcmV0a2V5MDE==",
	"jwt":           "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLXNlY3JldA",
	"sas signature": "c2FzLXNpZ25hdHVyZS1zZWNyZXQ%3D",
	"bearer token":  "bearer-token-secret-value-0123",
	"client secret": "abc8Q~Zy3xW_vU9tS.rQpOnMlKjIhGfEdCbA0123",
	"function key":  "ZnVuY3Rpb24ta2V5LXNlY3JldA",
}

// secretText is the text the alerts carry, each secret in the shape it comes in.
func secretText() string {
	return "AccountKey=" + secrets["storage key"] + " " + secrets["jwt"] + " https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=" + secrets["sas signature"] +
		" Authorization: Bearer " + secrets["bearer token"] + " client_secret=" + secrets["client secret"] + " code=" + secrets["function key"]
}

// TestSecretShapedTextInAnAlertReachesNoSurface posts alerts holding secrets to
// AlertIntake through the host simulator and the real handler binary: one the
// allow-list journals (a Resolved alert of an allow-listed rule), one it refuses
// (a rule not in the list), one it cannot read (a schema it does not know). Each is
// journaled; then the Status JSON, the status page, drctl status --json, drctl
// journal and the handler's own log are read: none holds any of the secrets.
func TestSecretShapedTextInAnAlertReachesNoSurface(t *testing.T) {
	d := newDRStack(t, "auto")
	leak := secretText()
	alertID := "/subscriptions/" + localstack.Subscription + "/providers/Microsoft.AlertsManagement/alerts/a1 " + leak

	resolved := commonAlertWith(alertID, alertRule, "Resolved")
	if r := d.postAlert(resolved); r.StatusCode >= 500 {
		t.Fatalf("a Resolved alert: %d %s", r.StatusCode, r.Body)
	}
	if r := d.postAlert(commonAlertWith("/subscriptions/"+localstack.Subscription+"/providers/Microsoft.AlertsManagement/alerts/a2", "ia-down "+leak, "Fired")); r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Fatalf("an alert of an unknown rule: %d %s", r.StatusCode, r.Body)
	}
	bad, _ := json.Marshal(map[string]any{"schemaId": leak, "data": map[string]any{}})
	if r := d.postAlert(bad); r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Fatalf("an alert of another schema: %d %s", r.StatusCode, r.Body)
	}

	// Each was journaled, its text kept masked.
	jr := d.journal()
	var journaled []journal.Operation
	for _, pair := range []string{localstack.PairName, "unknown"} {
		ops, err := jr.List(d.ctx, pair, 20)
		if err != nil {
			t.Fatal(err)
		}
		journaled = append(journaled, ops...)
	}
	if len(journaled) < 3 {
		t.Fatalf("%d alerts journaled, want the 3 posted: %+v", len(journaled), journaled)
	}
	raw, _ := json.Marshal(journaled)
	noSecret(t, "the journal as stored", string(raw))
	if !strings.Contains(string(raw), "[redacted]") {
		t.Errorf("the journal holds none of the alerts' text:\n%s", raw)
	}

	surfaces := map[string]string{}
	st := d.status("application/json")
	viewtest.Validate(t, "status.schema.json", "Status", st.Body)
	surfaces["Status JSON"] = string(st.Body)
	surfaces["status page"] = string(d.status("text/html").Body)
	drctl := d.drctl("status", "--json")
	viewtest.Validate(t, "status.schema.json", "drctl status --json", []byte(drctl))
	surfaces["drctl status --json"] = drctl
	surfaces["drctl journal"] = d.drctl("journal", "--pair", localstack.PairName)
	surfaces["drctl journal --json"] = d.drctl("journal", "--json")
	for _, op := range journaled {
		if op.Pair == localstack.PairName {
			surfaces["drctl journal --id"] = d.drctl("journal", "--pair", op.Pair, "--id", op.ID)
		}
	}
	surfaces["the handler's log"] = d.logs.String()
	for name, text := range surfaces {
		noSecret(t, name, text)
	}
	// The journaled alert is on every operator surface, masked: the checks above
	// looked at it, not at its absence.
	for _, name := range []string{"Status JSON", "drctl status --json", "drctl journal --json", "drctl journal --id"} {
		if !strings.Contains(surfaces[name], "[redacted]") {
			t.Errorf("%s does not show the journaled alert's masked text:\n%s", name, surfaces[name])
		}
	}
	for _, op := range journaled {
		if op.Pair == localstack.PairName && !strings.Contains(surfaces["status page"], op.ID) {
			t.Errorf("the status page does not show the journaled alert %s", op.ID)
		}
	}
}

// TestTheStatusPageOfAStackShowsAStaleReadinessReportAsStale keeps, on a stack, a
// readiness report as the operations timer kept it before the pair last moved: two
// hours old, from the previous epoch, agreements never compared with the old side
// and yet "pass" (as reports were kept before checks could say "not checked"). Headless
// Chromium opens the status page the host serves: no readiness of that report reads
// as pass or ready, and the page says it is stale and why.
func TestTheStatusPageOfAStackShowsAStaleReadinessReportAsStale(t *testing.T) {
	chromium := findChromium(t)
	d := newDRStack(t, "auto")
	store := d.store()
	_, region, err := store.Load(d.ctx, localstack.PairName)
	if err != nil {
		t.Fatal(err)
	}
	before := region.Epoch
	region.Epoch++
	if _, err := store.SetActiveRegion(d.ctx, localstack.PairName, region); err != nil {
		t.Fatal(err)
	}
	old := failover.Report{Pair: localstack.PairName, At: time.Now().Add(-2 * time.Hour), Epoch: before, From: replication.Primary, To: replication.Secondary,
		Checks: []failover.Check{
			{Name: failover.CheckNameReachable, OK: true, Why: "40 agreements"},
			{Name: failover.CheckNameAgreements, OK: true},
			{Name: failover.CheckNameDuplicates, OK: true},
			{Name: failover.CheckNameRoom, OK: true, Why: "120 numbers to bump"},
			{Name: failover.CheckNameLag, OK: true, Why: "3s behind (at most 10m0s)"},
		},
		Bumps: []string{"X12-1-Icn: 1104 -> 2104"},
		Notes: []string{"old side (primary) did not answer the agreements listing (unavailable) and never recorded: agreements not compared"},
	}
	raw, _ := json.Marshal(old)
	if err := d.journal().SaveSnapshot(d.ctx, localstack.PairName, journal.SnapshotReadiness, raw); err != nil {
		t.Fatal(err)
	}

	var st view.Status
	if err := json.Unmarshal(d.status("application/json").Body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Readiness) != 1 || st.Readiness[0].State != "stale" || st.Readiness[0].Ready || len(st.Readiness[0].StaleBecause) != 2 {
		t.Fatalf("Status JSON readiness: %+v", st.Readiness)
	}

	front := httptest.NewServer(d.host.Handler(handlers.FnStatus))
	t.Cleanup(front.Close)
	ctx, cancel := context.WithTimeout(d.ctx, 60*time.Second)
	defer cancel()
	dom := string(runChromium(ctx, t, chromium, "--dump-dom", front.URL+"/api/status"))

	readiness := section(t, dom, "readiness")
	for _, shown := range []string{">pass<", `class="badge big ok">ready<`, ">ready<"} {
		if strings.Contains(readiness, shown) {
			t.Errorf("the readiness section shows %q for a stale report:\n%s", shown, readiness)
		}
	}
	for _, want := range []string{"stale: not a verdict on now", "more than its interval", "made at epoch 0; the pair is at epoch 1 now"} {
		if !strings.Contains(readiness, want) {
			t.Errorf("the readiness section does not say %q:\n%s", want, readiness)
		}
	}
	if strings.Contains(dom, "ready to move to") || !strings.Contains(dom, "readiness report stale") {
		t.Errorf("the pair's tile reads a stale report as a verdict:\n%s", dom)
	}
}

// section is the page's <section id=...>, as the browser built it.
func section(t *testing.T, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section id="` + id + `".*?</section>`).FindString(dom)
	if m == "" {
		t.Fatalf("no section %s in the page:\n%s", id, dom)
	}
	return m
}

func noSecret(t *testing.T, surface, text string) {
	t.Helper()
	for what, s := range secrets {
		if strings.Contains(text, s) || strings.Contains(text, s[:16]) {
			t.Errorf("%s shows the %s", surface, what)
		}
	}
}

func commonAlertWith(id, rule, condition string) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemaId": "azureMonitorCommonAlertSchema",
		"data": map[string]any{
			"essentials": map[string]any{
				"alertId": id, "alertRule": rule, "severity": "Sev1", "signalType": "Metric", "monitorCondition": condition,
				"monitoringService": "Platform", "alertTargetIDs": []string{localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct)},
				"firedDateTime": time.Now().UTC().Format(time.RFC3339), "resolvedDateTime": time.Now().UTC().Format(time.RFC3339),
				"description": secretText(),
			},
			"alertContext":     map[string]any{"condition": map[string]any{"allOf": []any{map[string]any{"dimensions": []any{map[string]any{"name": "token", "value": secretText()}}}}}},
			"customProperties": map[string]any{"note": secretText()},
		},
	})
	return b
}

// status asks the Status function through the host, as a caller accepting accept.
func (d *drStack) status(accept string) hostsim.Response {
	d.t.Helper()
	r, err := d.host.HTTP(d.ctx, handlers.FnStatus, hostsim.Request{Method: http.MethodGet, Headers: http.Header{"Accept": {accept}}})
	if err != nil || r.StatusCode != http.StatusOK {
		d.t.Fatalf("status: %d %v %s", r.StatusCode, err, r.Body)
	}
	return r
}

var (
	drctlOnce sync.Once
	drctlBin  string
	drctlErr  error
)

// drctl runs the drctl binary against the stack's settings; its stdout and stderr,
// both of which an operator reads.
func (d *drStack) drctl(args ...string) string {
	d.t.Helper()
	drctlOnce.Do(func() {
		root, err := localstack.ProjectRoot()
		if err != nil {
			drctlErr = err
			return
		}
		drctlBin = filepath.Join(binDir, "drctl")
		cmd := exec.Command("go", "build", "-o", drctlBin, "./cmd/drctl")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			drctlErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if drctlErr != nil {
		d.t.Fatalf("build drctl: %v", drctlErr)
	}
	cmd := exec.CommandContext(d.ctx, drctlBin, args...)
	cmd.Dir = d.t.TempDir() // no local.settings.json: the environment is the settings
	cmd.Env = os.Environ()
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("drctl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	noSecret(d.t, "drctl "+strings.Join(args, " ")+" (stderr)", stderr.String())
	return stdout.String()
}

func (d *drStack) journal() *tables.Journal {
	d.t.Helper()
	svc, err := tables.NewServiceClient(d.azurite.ConnectionString(), "", nil, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	j, err := tables.OpenJournal(d.ctx, svc, "drstate")
	if err != nil {
		d.t.Fatal(err)
	}
	return j
}

func (d *drStack) store() *tables.Store {
	d.t.Helper()
	svc, err := tables.NewServiceClient(d.azurite.ConnectionString(), "", nil, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	s, err := tables.Open(d.ctx, svc, "drstate")
	if err != nil {
		d.t.Fatal(err)
	}
	return s
}

// findChromium returns Debian's chromium; CI installs it (make browser-deps), so
// there its absence fails, elsewhere it skips.
func findChromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing, and CI must run the browser test: install Debian's chromium (make browser-deps)")
	}
	t.Skip("skipping: chromium is not installed (make browser-deps installs it)")
	return ""
}

// runChromium runs headless Chromium once, in a profile of its own, with nothing
// reaching beyond this machine, and returns its standard output.
func runChromium(ctx context.Context, t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.Writer(&stderr)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}
