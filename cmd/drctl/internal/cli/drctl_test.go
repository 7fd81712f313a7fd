package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/azure/tables"
	"integration-dr/config"
	"integration-dr/dev/localstack"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/view"
)

// oneErrorLine fails unless stderr is exactly one line, "drctl: ...", containing want.
func oneErrorLine(t *testing.T, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.err, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "drctl: ") || !strings.Contains(lines[0], want) || !strings.HasSuffix(r.err, "\n") {
		t.Errorf("stderr: want one line containing %q\n%s", want, r)
	}
	for _, secret := range []string{"AccountKey=", "SharedAccessKey=", "goroutine ", "panic:"} {
		if strings.Contains(r.err, secret) {
			t.Errorf("stderr shows %q:\n%s", secret, r.err)
		}
	}
}

// TestTheOperatorsDayOnALocalStack walks through what an operator does, on one stack
// (Azurite and the ARM stand-in; drctl in-process): readiness before the first sync,
// a replication pass, status, readiness, a plan, a failover run in-process with
// --direct --wait, then status, the journal and the checkpoint.
func TestTheOperatorsDayOnALocalStack(t *testing.T) {
	t.Parallel()
	s := newStack(t)

	// Before the first full sync the pair cannot be ready.
	r := s.must(ExitNotReady, "readiness")
	oneErrorLine(t, r, "not ready: contoso-b2b (")
	if !strings.Contains(r.out, "replication has not completed a full sync yet") {
		t.Errorf("readiness does not say why:\n%s", r)
	}

	r = s.must(ExitOK, "replicate", "--once")
	if !regexp.MustCompile(`contoso-b2b\s+primary->secondary\s+full\s+18\s+18\s+18\s`).MatchString(r.out) {
		t.Errorf("replicate: want a full scan writing the 18 generated numbers\n%s", r)
	}
	// What the timers would have done: a reconcile pass of the SSIS pair, and a kept
	// readiness report.
	if _, err := s.app().SSIS.Reconciler.ReconcileAll(s.ctx); err != nil {
		t.Fatal(err)
	}
	s.env[config.EnvReadiness] = "1h"
	if _, err := s.app().Failover.Advance(s.ctx); err != nil {
		t.Fatal(err)
	}

	golden(t, "status", s.must(ExitOK, "status").out)
	st := checkSchema[view.Status](t, "status --json", s.must(ExitOK, "status", "--json").out)
	if len(st.Streams) != 1 || st.Streams[0].ActiveRegion != "primary" || st.Streams[0].LagSeconds < 0 || st.Streams[0].SinceSuccessSeconds < 0 ||
		len(st.Readiness) != 1 || !st.Readiness[0].Ready || len(st.SSIS) != 1 || len(st.SSIS[0].Sides) != 2 {
		t.Errorf("status --json: %+v", st)
	}
	// With the readiness timer off nothing remakes the kept report: from now on it
	// is stale, never ready.
	s.env[config.EnvReadiness] = "0"
	if st := checkSchema[view.Status](t, "status --json", s.must(ExitOK, "status", "--json").out); st.Readiness[0].State != "stale" || st.Readiness[0].Ready {
		t.Errorf("a kept report with the timer off: %+v", st.Readiness[0])
	}

	golden(t, "readiness", s.must(ExitOK, "readiness", "--pair", "contoso-b2b").out)
	rd := checkSchema[[]view.Readiness](t, "readiness --json", s.must(ExitOK, "readiness", "--json").out)
	// Five checks, the intake workflows' (the stack's pair has workflows) and the artifacts'.
	if len(rd) != 1 || !rd[0].Ready || len(rd[0].Checks) != 7 || rd[0].Checks[5].Verdict != "pass" || len(rd[0].Bumps) != 24 {
		t.Errorf("readiness --json: %+v", rd)
	}

	golden(t, "plan_failover", s.must(ExitOK, "plan", "failover", "--pair", "contoso-b2b").out)
	pl := checkSchema[view.Plan](t, "plan --json", s.must(ExitOK, "plan", "failover", "--pair", "contoso-b2b", "--json").out)
	if !pl.Operation.DryRun || pl.Operation.Status != "succeeded" || pl.Operation.RTOSeconds != nil || len(pl.Then) == 0 ||
		len(pl.Operation.Steps) != 3 || len(pl.Operation.Steps[2].Changes) != 20 {
		t.Errorf("plan --json: %+v", pl)
	}
	if got := s.arm.Writes(localstack.SecondaryGroup, localstack.SecondaryAcct); len(got) != 18 {
		t.Errorf("a plan wrote to the secondary: %d writes (the 18 of the first sync expected)", len(got))
	}

	r = s.must(ExitOK, "plan", "ssis-failover", "--pair", "contoso-ssis")
	if !strings.Contains(r.out, "would fail the group over to the secondary side (planned)") {
		t.Errorf("plan ssis-failover: %s", r)
	}

	golden(t, "checkpoint_show", s.must(ExitOK, "checkpoint", "show", "--pair", "contoso-b2b").out)

	// The queue is down: the operator fails over in-process and follows it.
	r = s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--wait", "--reason", "West Europe outage", "--id", "fo-1")
	if strings.Contains(r.out, "\r") {
		t.Errorf("progress rewrites lines off a terminal:\n%q", r.out)
	}
	// Whether a poll sees the settle step waiting depends on how long the bump's
	// journal write took (the settle is counted from the bump's end): the outcome of
	// the settle is what is asserted, not that a poll came while it waited.
	for _, want := range []string{"floors", "waited 1s after the last bump", "flip", "operation succeeded", "operation fo-1 (failover of contoso-b2b): succeeded, 11/11 steps, RTO"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("failover progress lacks %q:\n%s", want, r)
		}
	}

	golden(t, "status_after_failover", s.must(ExitOK, "status", "--pair", "contoso-b2b", "--last", "1").out)
	st = checkSchema[view.Status](t, "status --json", s.must(ExitOK, "status", "--json").out)
	if st.Streams[0].ActiveRegion != "secondary" || st.Streams[0].Epoch != 1 || len(st.Operations) == 0 ||
		st.Operations[0].ID != "fo-1" || st.Operations[0].RTOSeconds == nil || *st.Operations[0].RTOSeconds <= 0 {
		t.Errorf("status after the failover: %+v", st)
	}
	if r := st.Readiness[0]; r.State != "stale" || r.Ready || r.Epoch != 0 || r.CurrentEpoch == nil || *r.CurrentEpoch != 1 {
		t.Errorf("the report made before the failover is not stale: %+v", r)
	}

	golden(t, "journal", s.must(ExitOK, "journal").out)
	golden(t, "journal_failover", s.must(ExitOK, "journal", "--pair", "contoso-b2b", "--id", "fo-1").out)
	ops := checkSchema[[]view.Operation](t, "journal --json", s.must(ExitOK, "journal", "--json").out)
	if len(ops) != 4 || ops[0].ID != "fo-1" || ops[0].EpochAfter != 1 || ops[0].Reason != "West Europe outage" {
		t.Errorf("journal --json: %+v", ops)
	}
	checkSchema[view.Operation](t, "journal --id --json", s.must(ExitOK, "journal", "--id", "fo-1", "--json").out)

	// A second failover is refused by a safety rule: the pair is already on its secondary.
	r = s.must(ExitRefused, "failover", "--pair", "contoso-b2b", "--direct")
	oneErrorLine(t, r, "rejected: the pair is already active on its secondary")

	// Sending the same id again resumes (here: finds) the journaled operation.
	r = s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--id", "fo-1", "--json")
	if op := checkSchema[view.Operation](t, "failover --json", r.out); op.ID != "fo-1" || op.Status != "succeeded" {
		t.Errorf("same id again: %+v", op)
	}

	cp := checkSchema[view.Checkpoint](t, "checkpoint show --json", s.must(ExitOK, "checkpoint", "show", "--pair", "contoso-b2b", "--json").out)
	if !cp.Stored || cp.ActiveRegion != "secondary" || cp.Epoch != 1 || cp.ObservedRates < 0 {
		t.Errorf("checkpoint after the failover: %+v", cp)
	}
}

// TestCheckpointResetIsSafe: a reset is refused while a run holds the stream and
// without --yes off a terminal; done, it forgets the watermark and scans and keeps
// the active-region record.
func TestCheckpointResetIsSafe(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--wait")
	// The stream runs the other way now; --json gives the pass's lag in seconds.
	runs := checkSchema[[]view.ReplicationRun](t, "replicate --once --json", s.must(ExitOK, "replicate", "--once", "--json").out)
	if len(runs) != 1 || runs[0].Pair != "contoso-b2b" || runs[0].Direction != "secondary->primary" || runs[0].LagSeconds < 0 || runs[0].LagSeconds > 3600 {
		t.Errorf("replicate --once --json: %+v", runs)
	}

	r := s.must(ExitUsage, "checkpoint", "reset", "--pair", "contoso-b2b")
	oneErrorLine(t, r, "without --yes")

	// A run holds the stream.
	a := s.app()
	cp, _, err := a.Checkpoints.Load(s.ctx, localstack.PairName)
	if err != nil {
		t.Fatal(err)
	}
	cp.LeaseOwner, cp.LeaseUntil = "run-elsewhere", time.Now().Add(time.Minute)
	held, err := a.Checkpoints.Save(s.ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	r = s.must(ExitRefused, "checkpoint", "reset", "--pair", "contoso-b2b", "--yes")
	oneErrorLine(t, r, "held by run-elsewhere")
	held.LeaseOwner, held.LeaseUntil = "", time.Time{}
	if _, err := a.Checkpoints.Save(s.ctx, held); err != nil {
		t.Fatal(err)
	}

	// On a terminal, a wrong answer resets nothing; the pair's name does.
	f := s.factory()
	f.IO.InTTY, f.IO.In = true, strings.NewReader("contoso\n")
	if r := runDrctl(s.ctx, f, "checkpoint", "reset", "--pair", "contoso-b2b"); r.code != ExitUsage || !strings.Contains(r.err, "Type the pair's name") {
		t.Errorf("wrong name: %s", r)
	}
	f = s.factory()
	f.IO.InTTY, f.IO.In = true, strings.NewReader("contoso-b2b\n")
	if r := runDrctl(s.ctx, f, "checkpoint", "reset", "--pair", "contoso-b2b"); r.code != ExitOK || !strings.Contains(r.out, "reset the checkpoint of contoso-b2b") {
		t.Errorf("confirmed: %s", r)
	}

	after := checkSchema[view.Checkpoint](t, "checkpoint show --json", s.must(ExitOK, "checkpoint", "show", "--pair", "contoso-b2b", "--json").out)
	if after.Watermark != nil || after.LagSeconds != -1 || after.Scan.Kind != "" || after.Reconcile.Kind != "" || after.OverlapMemory != 0 {
		t.Errorf("after reset the stream still knows: %+v", after)
	}
	if after.ActiveRegion != "secondary" || after.Epoch != 1 || after.Runs != held.Runs {
		t.Errorf("after reset the active-region record or counters changed: %+v", after)
	}
	// A second reset, as a script would ask for it.
	if v := checkSchema[view.Reset](t, "checkpoint reset --json", s.must(ExitOK, "checkpoint", "reset", "--pair", "contoso-b2b", "--yes", "--json").out); v.Pair != "contoso-b2b" || !v.Reset {
		t.Errorf("checkpoint reset --json: %+v", v)
	}
	// Readiness now says not ready; the next run scans everything and it is again.
	s.must(ExitNotReady, "readiness", "--pair", "contoso-b2b")
	r = s.must(ExitOK, "replicate", "--once", "--pair", "contoso-b2b")
	if !strings.Contains(r.out, "secondary->primary  full") {
		t.Errorf("the run after a reset is not a full scan:\n%s", r)
	}
	s.must(ExitOK, "readiness", "--pair", "contoso-b2b")

	// A run claims the stream between the reset's read and its write: the write is
	// conditional on the ETag read, so the run wins and nothing is reset.
	racer := &claimFirst{Store: a.Checkpoints}
	_, err = resetStream(s.ctx, racer, a.Journal, localstack.PairName, time.Now(), func(replication.ActiveRegion) (bool, error) { return true, nil })
	if ee := (*ExitError)(nil); !errors.As(err, &ee) || ee.Code != ExitRefused || !strings.Contains(err.Error(), "changed while it was being reset") {
		t.Errorf("a reset racing a run: %v", err)
	}
	cp, _, err = a.Checkpoints.Load(s.ctx, localstack.PairName)
	if err != nil || cp.LeaseOwner != "racing-run" || cp.Watermark.IsZero() {
		t.Fatalf("the run's claim was overwritten: %+v %v", cp, err)
	}
	cp.LeaseOwner, cp.LeaseUntil = "", time.Time{} // the run ends
	if _, err := a.Checkpoints.Save(s.ctx, cp); err != nil {
		t.Fatal(err)
	}

	// A reset while an operation is pending on the pair is refused.
	if _, err := a.Journal.Create(s.ctx, journal.Operation{ID: "fb-pending", Pair: localstack.PairName, Action: "fallback", Status: journal.Waiting, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r = s.must(ExitRefused, "checkpoint", "reset", "--pair", "contoso-b2b", "--yes")
	oneErrorLine(t, r, "operation fb-pending (fallback) is waiting")
}

// claimFirst is the checkpoint store with a replication run that claims the stream
// just before each Save lands.
type claimFirst struct {
	*tables.Store
}

func (c *claimFirst) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	claim := cp
	claim.Watermark, claim.Scan = time.Now().Add(-time.Minute), replication.Scan{Kind: replication.ScanIncremental}
	claim.LeaseOwner, claim.LeaseUntil = "racing-run", time.Now().Add(time.Minute)
	if _, err := c.Store.Save(ctx, claim); err != nil {
		return cp, err
	}
	return c.Store.Save(ctx, cp)
}

// readerOnly is Table Storage as an identity with only Storage Table Data Reader sees
// it: every write (creating a table included) is refused with 403.
type readerOnly struct {
	next    http.Handler
	refused atomic.Int32
}

func (p *readerOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		p.next.ServeHTTP(w, r)
		return
	}
	p.refused.Add(1)
	w.Header().Set("Content-Type", "application/json;odata=minimalmetadata")
	w.Header().Set("x-ms-error-code", "AuthorizationPermissionMismatch")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"odata.error":{"code":"AuthorizationPermissionMismatch","message":{"lang":"en-US","value":"This request is not authorized to perform this operation using this permission."}}}`))
}

// TestReadOnlyCommandsNeedOnlyReadRights: status, journal, readiness and checkpoint
// show work for an operator who may only read Table Storage, and try no write (no
// table is created, even where none exists yet); a command that writes is refused.
func TestReadOnlyCommandsNeedOnlyReadRights(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.must(ExitOK, "failover", "--pair", "contoso-b2b", "--direct", "--wait", "--id", "fo-1")

	target, err := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", s.az.Port))
	if err != nil {
		t.Fatal(err)
	}
	proxy := &readerOnly{next: httputil.NewSingleHostReverseProxy(target)}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	reader := *s
	reader.env = maps.Clone(s.env)
	reader.env[config.EnvStorage] = strings.Replace(s.az.ConnectionString(), target.Host, strings.TrimPrefix(front.URL, "http://"), 1)

	for _, args := range [][]string{
		{"status"}, {"status", "--json"}, {"journal"}, {"journal", "--pair", "contoso-b2b", "--id", "fo-1"},
		{"readiness", "--pair", "contoso-b2b"}, {"checkpoint", "show", "--pair", "contoso-b2b"},
	} {
		r := reader.drctl(args...)
		if r.code != ExitOK {
			t.Errorf("drctl %s as a reader: want exit 0\n%s", strings.Join(args, " "), r)
		}
	}
	// Where nothing has run yet (no table at all), a reader sees no state, and creates
	// no table.
	reader.env[config.EnvTable] = "nothingyet"
	if r := reader.drctl("status", "--json"); r.code != ExitOK {
		t.Errorf("status of a table not created yet: %s", r)
	}
	r := reader.drctl("readiness", "--pair", "contoso-b2b")
	if r.code != ExitNotReady || !strings.Contains(r.out, "replication has not completed a full sync yet") {
		t.Errorf("readiness of a table not created yet: want exit 3, not synced\n%s", r)
	}
	if n := proxy.refused.Load(); n != 0 {
		t.Errorf("the read-only commands tried %d writes", n)
	}
	// The reader's rights are what the proxy says: a write is refused.
	reader.env[config.EnvTable] = s.env[config.EnvTable]
	if r := reader.drctl("replicate", "--once"); r.code != ExitFailed || proxy.refused.Load() == 0 {
		t.Errorf("a write through the reader's proxy was not refused:\n%s", r)
	}
}

// TestAnErrorSaysWhatFailedOnce: an adapter's error that already names what failed is
// not prefixed with it again.
func TestAnErrorSaysWhatFailedOnce(t *testing.T) {
	env := offlineEnv()
	env[config.EnvStorage] = "AccountName=x;garbage"
	for _, args := range [][]string{{"status"}, {"failover", "--pair", "contoso-b2b", "--direct"}} {
		r := offline(env, args...)
		if r.code != ExitFailed {
			t.Errorf("want exit 1\n%s", r)
		}
		oneErrorLine(t, r, "drctl: table storage: the storage connection string is not valid")
		if strings.Contains(r.err, "table storage: table storage") {
			t.Errorf("the prefix doubles: %s", r.err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"table storage: table storage: bad", "table storage: bad"},
		{"a: b: a: c", "a: b: a: c"},
		{"send: send command x: refused", "send: send command x: refused"},
	} {
		if got := dedupePrefixes(tc.in); got != tc.want {
			t.Errorf("dedupePrefixes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
