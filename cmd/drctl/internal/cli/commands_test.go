package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"integration-dr/azure/servicebus"
	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/dev/localstack"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
	"integration-dr/view"
)

// offlineEnv is a configuration that validates but whose endpoints nothing serves:
// enough for everything drctl decides before it calls out.
func offlineEnv() map[string]string {
	return map[string]string{
		config.EnvStorage:     "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
		config.EnvTopology:    `{"pairs":[{"name":"contoso-b2b","primary":"` + localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct) + `","secondary":"` + localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct) + `"}],"ssisPairs":[` + mustJSON(ssisTopology()) + `]}`,
		config.EnvARMEndpoint: "http://127.0.0.1:9",
		config.EnvCredential:  config.CredentialLocal,
	}
}

func offline(env map[string]string, args ...string) result {
	return runDrctl(context.Background(), testFactory(func(k string) string { return env[k] }), args...)
}

func TestBadUsageExits2WithOneLine(t *testing.T) {
	env := offlineEnv()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag", []string{"status", "--bogus"}, "unknown flag: --bogus"},
		{"an unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"a missing --pair", []string{"failover"}, "drctl failover needs --pair (the pair); see drctl failover --help"},
		{"a pair given as an argument", []string{"failover", "contoso-b2b"}, `drctl failover takes no arguments, got "contoso-b2b" (did you mean --pair contoso-b2b?)`},
		{"a confirm without its id", []string{"confirm", "--pair", "contoso-b2b"}, "drctl confirm needs ID; usage: drctl confirm ID --pair PAIR"},
		{"a confirm of two ids", []string{"confirm", "a-1", "a-2", "--pair", "contoso-b2b"}, `drctl confirm takes one ID, got "a-1" "a-2"`},
		{"a plan of nothing", []string{"plan", "--pair", "contoso-b2b"}, "drctl plan needs one of failover, fallback, ssis-failover, attach-ir"},
		{"a misspelt command", []string{"statsu"}, `unknown command "statsu" for drctl (did you mean status?): the commands are`},
		{"an unknown subcommand", []string{"checkpoint", "rest", "--pair", "contoso-b2b"}, `unknown command "rest" for drctl checkpoint (did you mean reset?): the commands are reset, show`},
		{"a resubmit without its number", []string{"dlq", "resubmit"}, "drctl dlq resubmit needs SEQUENCE-NUMBER"},
		{"a negative timeout", []string{"failover", "--pair", "contoso-b2b", "--direct", "--wait", "--timeout", "-5s"}, "--timeout -5s: give a positive duration"},
		{"an unknown pair", []string{"failover", "--pair", "nope"}, `unknown pair "nope": the configured pairs are contoso-b2b, contoso-ssis`},
		{"a pair in the wrong case", []string{"status", "--pair", "Contoso-B2B"}, "did you mean contoso-b2b?"},
		{"an SSIS pair for a failover", []string{"failover", "--pair", "contoso-ssis"}, "contoso-ssis is an SSIS pair"},
		{"an integration pair for ssis-failover", []string{"ssis-failover", "--pair", "contoso-b2b"}, "contoso-b2b is an integration-account pair"},
		{"readiness of an SSIS pair", []string{"readiness", "--pair", "contoso-ssis"}, "contoso-ssis is an SSIS pair"},
		{"a side that is no side", []string{"attach-ir", "--pair", "contoso-ssis", "--side", "middle", "--direct"}, `command.side: "middle" is not primary or secondary`},
		{"an id with a space", []string{"failover", "--pair", "contoso-b2b", "--id", "fo 1"}, `command.id: "fo 1" is not`},
		{"a plan of no action", []string{"plan", "explode", "--pair", "contoso-b2b"}, `drctl plan "explode": not one of failover, fallback, ssis-failover, attach-ir`},
		{"replicate without --once", []string{"replicate"}, "add --once"},
		{"a reset without --yes off a terminal", []string{"checkpoint", "reset", "--pair", "contoso-b2b"}, "without --yes"},
		{"a sequence number that is not one", []string{"dlq", "resubmit", "forty-two"}, `"forty-two" is not a sequence number`},
		{"a bad --limit", []string{"journal", "--limit", "0"}, "--limit 0 is not from 1 to 1000"},
		{"a settings file that is not there", []string{"status", "--settings", "no-such.json"}, "settings file no-such.json: no such file"},
		{"a bad duration", []string{"failover", "--pair", "contoso-b2b", "--timeout", "soon"}, `invalid argument "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := offline(env, tc.args...)
			if r.code != ExitUsage || r.out != "" {
				t.Errorf("want exit 2 and nothing on stdout\n%s", r)
			}
			oneErrorLine(t, r, tc.want)
			for _, cobras := range []string{"arg(s)", "required flag(s)", "for \"drctl"} {
				if strings.Contains(r.err, cobras) {
					t.Errorf("cobra's wording shows through: %s", r.err)
				}
			}
		})
	}
}

func TestABadConfigurationNamesEverySettingOnOneLine(t *testing.T) {
	env := offlineEnv()
	env[config.EnvTopology] = `{"pairs":[{"name":"x y"}]}`
	env[config.EnvClockSkew] = "forever"
	r := offline(env, "status")
	if r.code != ExitUsage {
		t.Errorf("want exit 2\n%s", r)
	}
	oneErrorLine(t, r, "DR_CLOCK_SKEW")
	oneErrorLine(t, r, `pairs[0].name: "x y" is not a pair name`)
}

func TestWithoutServiceBusACommandFailsAndSuggestsDirect(t *testing.T) {
	r := offline(offlineEnv(), "failover", "--pair", "contoso-b2b")
	if r.code != ExitFailed {
		t.Errorf("want exit 1\n%s", r)
	}
	oneErrorLine(t, r, "no Service Bus configured")
	oneErrorLine(t, r, "add --direct")

	env := offlineEnv()
	env[config.EnvServiceBusNS] = "<namespace>.servicebus.windows.net"
	env[config.EnvCommandQueue] = "dr-commands"
	r = offline(env, "failover", "--pair", "contoso-b2b")
	if r.code != ExitFailed {
		t.Errorf("want exit 1\n%s", r)
	}
	oneErrorLine(t, r, "placeholder")
}

func TestAnUnreachableTableStorageExits1WithOneLine(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits out the retries of Table Storage: skipped in -short mode")
	}
	r := offline(offlineEnv(), "status")
	if r.code != ExitFailed || r.out != "" {
		t.Errorf("want exit 1 and nothing on stdout\n%s", r)
	}
	oneErrorLine(t, r, "read table: the endpoint refused connections")
}

// fakeQueue records what is sent, and may run it as RunCommand would.
type fakeQueue struct {
	mu   sync.Mutex
	sent []command.Command
	err  error
	run  func(command.Command)
}

func (q *fakeQueue) Send(_ context.Context, c command.Command) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.sent = append(q.sent, c)
	if q.run != nil {
		go q.run(c)
	}
	return nil
}

func withQueue(f *Factory, q *fakeQueue) *Factory {
	f.Sender = func(context.Context, *Settings) (commandSender, func(), error) { return q, func() {}, nil }
	return f
}

func TestACommandGoesToTheQueueAsBuilt(t *testing.T) {
	q := &fakeQueue{}
	env := offlineEnv()
	env[config.EnvCommandQueue] = "dr-commands"
	f := withQueue(testFactory(func(k string) string { return env[k] }), q)
	r := runDrctl(context.Background(), f, "failover", "--pair", "contoso-b2b", "--reason", "West Europe outage", "--expected-epoch", "0", "--force")
	if r.code != ExitOK || !strings.Contains(r.out, "queued failover of contoso-b2b as command failover-") || !strings.Contains(r.out, "on dr-commands") {
		t.Fatalf("%s", r)
	}
	c := q.sent[0]
	if c.Action != command.Failover || c.Pair != "contoso-b2b" || c.Reason != "West Europe outage" || !c.Force || c.DryRun ||
		c.ExpectedEpoch == nil || *c.ExpectedEpoch != 0 || c.RequestedBy != "tester (drctl)" || !command.ValidID(c.ID) {
		t.Errorf("sent %+v", c)
	}
	if err := c.Validate(nil); err != nil {
		t.Errorf("RunCommand would refuse it: %v", err)
	}

	f = withQueue(testFactory(func(k string) string { return env[k] }), q)
	r = runDrctl(context.Background(), f, "confirm", "alert-123", "--pair", "contoso-b2b", "--id", "ok-1", "--json")
	v := checkSchema[view.Queued](t, "confirm --json", r.out)
	if r.code != ExitOK || v.ID != "ok-1" || v.Action != "confirm" || v.Queue != "dr-commands" || !v.Queued {
		t.Errorf("%+v\n%s", v, r)
	}
	if c := q.sent[1]; c.Action != command.Confirm || c.Target != "alert-123" || c.ExpectedEpoch != nil {
		t.Errorf("sent %+v", c)
	}

	q.err = drerr.Errorf(drerr.Unavailable, "send", "the namespace does not answer")
	f = withQueue(testFactory(func(k string) string { return env[k] }), q)
	r = runDrctl(context.Background(), f, "fallback", "--pair", "contoso-b2b", "--id", "fb-1")
	if r.code != ExitFailed {
		t.Errorf("want exit 1\n%s", r)
	}
	oneErrorLine(t, r, "command fb-1 was not queued: send: the namespace does not answer; send it again with --id fb-1 (harmless), or run it here with --direct --id fb-1")
}

func TestFlagsAreParsedIntoTheOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(*operateOptions) bool
	}{
		{"no --expected-epoch means any epoch", []string{"failover", "--pair", "p"}, func(o *operateOptions) bool { return o.ExpectedEpoch == nil && !o.Wait && !o.Direct }},
		{"--expected-epoch 0 is epoch 0", []string{"failover", "--pair", "p", "--expected-epoch", "0"}, func(o *operateOptions) bool { return o.ExpectedEpoch != nil && *o.ExpectedEpoch == 0 }},
		{"attach-ir takes --side", []string{"attach-ir", "--pair", "p", "--side", "secondary", "--wait", "--direct"}, func(o *operateOptions) bool {
			return o.Side == "secondary" && o.Action == command.AttachIR && o.Wait && o.Direct
		}},
		{"drill takes --dry-run and --timeout", []string{"drill", "--pair", "p", "--dry-run", "--wait", "--timeout", "2m"}, func(o *operateOptions) bool {
			return o.DryRun && o.Timeout == 2*time.Minute && o.Action == command.Drill
		}},
		{"--direct --wait takes --no-drive", []string{"failover", "--pair", "p", "--direct", "--wait", "--no-drive"}, func(o *operateOptions) bool {
			return o.NoDrive && o.Direct && o.Wait
		}},
		{"confirm takes the target", []string{"confirm", "alert-1", "--pair", "p"}, func(o *operateOptions) bool { return o.Target == "alert-1" && o.Action == command.Confirm }},
		{"cancel takes the operation, a reason and force", []string{"cancel", "--pair", "p", "--operation", "fo-1", "--reason", "rebuilt", "--force", "--direct"}, func(o *operateOptions) bool {
			return o.Target == "fo-1" && o.Reason == "rebuilt" && o.Force && o.Direct && !o.Wait && o.Action == command.Cancel
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *operateOptions
			capture := func(_ context.Context, o *operateOptions) error { got = o; return nil }
			root := rootCapturing(tc.args[0], capture)
			root.SetArgs(tc.args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if got == nil || !tc.check(got) {
				t.Errorf("options %+v", got)
			}
		})
	}
}

func TestSettingsComeFromFlagsThenTheNamedFileThenEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "local.settings.json")
	env := offlineEnv()
	values := map[string]any{"Values": map[string]any{
		config.EnvTopology: env[config.EnvTopology], config.EnvStorage: env[config.EnvStorage],
		config.EnvARMEndpoint: "http://127.0.0.1:1", config.EnvCredential: config.CredentialLocal,
		config.EnvTable: "fromfile", config.EnvLease: 90, config.EnvCommandQueue: "file-queue",
	}}
	if err := os.WriteFile(file, []byte(mustJSON(values)), 0o600); err != nil {
		t.Fatal(err)
	}
	f := testFactory(func(k string) string {
		return map[string]string{config.EnvTable: "fromenv", config.EnvCommandQueue: "env-queue", config.EnvClientID: "env-only"}[k]
	})
	root := NewRootCmd(f)
	root.SetArgs([]string{"--settings", file, "--queue", "flag-queue", "status", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	s, err := f.Settings()
	if err == nil {
		t.Fatalf("a lease of 90 (no unit) should be refused, got %+v", s.Config.Engine)
	}
	oneErrorLine(t, result{code: 2, err: "drctl: " + oneLine(err) + "\n"}, "DR_RUN_LEASE")

	values["Values"].(map[string]any)[config.EnvLease] = "90s"
	if err := os.WriteFile(file, []byte(mustJSON(values)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.settings = nil
	s, err = f.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config.State.Table; got != "fromfile" {
		t.Errorf("table %q: the file named by --settings beats the environment", got)
	}
	if got := s.Getenv(config.EnvClientID); got != "env-only" {
		t.Errorf("client id %q: the environment fills what the named file leaves out", got)
	}
	if got := s.Getenv(config.EnvCommandQueue); got != "flag-queue" {
		t.Errorf("queue %q: a flag beats the environment", got)
	}
	if got := s.Config.Engine.Lease; got != 90*time.Second {
		t.Errorf("lease %s: the file gives what nothing else does", got)
	}
	if s.File != file || s.Getenv(config.EnvPort) == "" {
		t.Errorf("file %q, port %q", s.File, s.Getenv(config.EnvPort))
	}
}

func TestAMissingDefaultSettingsFileIsNoError(t *testing.T) {
	f := testFactory(func(k string) string { return offlineEnv()[k] })
	f.ReadFile = func(string) ([]byte, error) { return nil, os.ErrNotExist }
	if _, err := f.Settings(); err != nil {
		t.Fatal(err)
	}
	f = testFactory(func(k string) string { return offlineEnv()[k] })
	f.ReadFile = func(string) ([]byte, error) { return []byte(`{"IsEncrypted": true, "Values": {}}`), nil }
	if _, err := f.Settings(); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("an encrypted default file: %v", err)
	}
}

// fakeDLQ is a dead-letter queue with two messages.
type fakeDLQ struct {
	resubmitted []int64
}

func (d *fakeDLQ) List(context.Context, int) ([]servicebus.DeadLetter, error) {
	return []servicebus.DeadLetter{
		{SequenceNumber: 41, MessageID: "fo-7", ID: "fo-7", Action: "failover", Pair: "contoso-b2b", Reason: "MaxDeliveryCountExceeded", Description: "Message could not be consumed after 10 delivery attempts.", EnqueuedTime: time.Date(2026, 11, 23, 13, 54, 50, 0, time.UTC), DeliveryCount: 10},
		{SequenceNumber: 42, MessageID: "m-x", ID: "m-x", Reason: "TTLExpiredException"},
	}, nil
}

func (d *fakeDLQ) Resubmit(_ context.Context, seq int64) (servicebus.DeadLetter, error) {
	if seq != 41 {
		return servicebus.DeadLetter{}, drerr.Errorf(drerr.NotFound, "resubmit", "no message with sequence number %d in the dead-letter queue of dr-commands", seq)
	}
	d.resubmitted = append(d.resubmitted, seq)
	return servicebus.DeadLetter{SequenceNumber: 41, MessageID: "fo-7", ID: "fo-7", Action: "failover", Pair: "contoso-b2b"}, nil
}

func TestDeadLettersAreListedAndResubmitted(t *testing.T) {
	d := &fakeDLQ{}
	factory := func() *Factory {
		f := testFactory(func(k string) string { return offlineEnv()[k] })
		f.DeadLetters = func(context.Context, *Settings) (deadLetterQueue, func(), error) { return d, func() {}, nil }
		return f
	}
	r := runDrctl(context.Background(), factory(), "dlq", "list")
	if r.code != ExitOK || !strings.Contains(r.out, "41   fo-7        failover  contoso-b2b  MaxDeliveryCountExceeded") || !strings.Contains(r.out, "2026-11-23T13:54:50Z") {
		t.Errorf("%s", r)
	}
	list := checkSchema[[]view.DeadLetter](t, "dlq list --json", runDrctl(context.Background(), factory(), "dlq", "list", "--json").out)
	if len(list) != 2 || list[1].EnqueuedTime != nil || list[0].DeliveryCount != 10 {
		t.Errorf("%+v", list)
	}

	r = runDrctl(context.Background(), factory(), "dlq", "resubmit", "41")
	if r.code != ExitOK || !strings.Contains(r.out, "drctl journal --pair contoso-b2b --id fo-7") || len(d.resubmitted) != 1 {
		t.Errorf("%s", r)
	}
	if v := checkSchema[view.DeadLetter](t, "dlq resubmit --json", runDrctl(context.Background(), factory(), "dlq", "resubmit", "41", "--json").out); v.SequenceNumber != 41 {
		t.Errorf("%+v", v)
	}
	r = runDrctl(context.Background(), factory(), "dlq", "resubmit", "99")
	if r.code != ExitUsage {
		t.Errorf("want exit 2\n%s", r)
	}
	oneErrorLine(t, r, "no message with sequence number 99")

	f := testFactory(func(k string) string { return offlineEnv()[k] })
	r = runDrctl(context.Background(), f, "dlq", "list")
	if r.code != ExitFailed {
		t.Errorf("without Service Bus: want exit 1\n%s", r)
	}
	oneErrorLine(t, r, "cannot reach the dead-letter queue: no Service Bus configured")
}

// TestAQueuedCommandIsFollowedInTheJournal: the command goes to the queue and
// something else (here a stand-in for RunCommand) runs it; --wait follows the journal
// and exits with the outcome.
func TestAQueuedCommandIsFollowedInTheJournal(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.must(ExitOK, "replicate", "--once")
	s.env[config.EnvCommandQueue] = "dr-commands"
	runCommand := s.app().Operations
	q := &fakeQueue{run: func(c command.Command) {
		time.Sleep(300 * time.Millisecond) // the function app takes it off the queue a moment later
		if _, err := runCommand.Submit(context.Background(), c, journal.Source{RequestedBy: c.RequestedBy}, time.Now()); err != nil {
			t.Errorf("RunCommand: %v", err)
		}
	}}
	r := runDrctl(s.ctx, withQueue(s.factory(), q), "drill", "--pair", "contoso-b2b", "--id", "drill-1", "--wait")
	if r.code != ExitOK || !strings.Contains(r.out, "waiting for RunCommand to take the command off the queue") ||
		!strings.Contains(r.out, "operation drill-1 (drill of contoso-b2b): succeeded, 3/3 steps") {
		t.Errorf("%s", r)
	}

	// A refused command's outcome is exit 4: a fallback of a pair on its primary.
	r = runDrctl(s.ctx, withQueue(s.factory(), q), "fallback", "--pair", "contoso-b2b", "--id", "fb-1", "--wait", "--json")
	if r.code != ExitRefused {
		t.Errorf("want exit 4\n%s", r)
	}
	if evs := checkEvents(t, "fallback --wait --json", r.out); evs[len(evs)-1].State != "rejected" || evs[len(evs)-1].OperationID != "fb-1" ||
		!strings.HasPrefix(evs[0].Message, "queued fallback of contoso-b2b as command fb-1 on dr-commands") {
		t.Errorf("%+v", evs)
	}
	oneErrorLine(t, r, "operation fb-1 was rejected: the pair is already active on its primary")

	// An alert proposed a drill; the operator confirms it in-process and follows it.
	if _, err := runCommand.Propose(s.ctx, command.Command{ID: "alert-1", Action: command.Drill, Pair: localstack.PairName, RequestedBy: "alert"}, journal.Source{AlertID: "a-1", AlertRule: "rule"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r = s.must(ExitOK, "confirm", "alert-1", "--pair", "contoso-b2b", "--direct", "--wait")
	if !strings.Contains(r.out, "operation alert-1 (drill of contoso-b2b): succeeded, 3/3 steps") {
		t.Errorf("confirm: %s", r)
	}
	r = s.must(ExitRefused, "confirm", "alert-2", "--pair", "contoso-b2b", "--direct", "--wait", "--id", "ok-2")
	oneErrorLine(t, r, "operation ok-2 was rejected: no operation alert-2 on pair contoso-b2b to confirm")

	// Nothing takes it off the queue: --timeout gives up, and says where to look.
	q.run = nil
	r = runDrctl(s.ctx, withQueue(s.factory(), q), "drill", "--pair", "contoso-b2b", "--id", "drill-2", "--wait", "--timeout", "500ms")
	if r.code != ExitFailed {
		t.Errorf("want exit 1\n%s", r)
	}
	oneErrorLine(t, r, "gave up waiting after 500ms: operation drill-2 is not journaled yet")
}

func TestOneLineJoinsAnSDKErrorAndCutsItShort(t *testing.T) {
	err := errors.New("GET https://management.azure.com/x\n--------------------------------------------------------------------------------\nRESPONSE 404: 404 Not Found\nERROR CODE: ResourceNotFound\n--------------------------------------------------------------------------------\n{\n  \"error\": {}\n}\n" + strings.Repeat("x", 2000))
	got := oneLine(err)
	if strings.Contains(got, "\n") || !strings.HasPrefix(got, "GET https://management.azure.com/x; RESPONSE 404: 404 Not Found; ERROR CODE: ResourceNotFound; {") || len([]rune(got)) > maxLine {
		t.Errorf("%q", got)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestStatusShowsAnUnknownRoleAPendingFenceAndWhatCouldNotBeRead renders a status no
// stack here produces: an SSIS pair whose role is unknown, a failover waiting on its
// fence, and a part of the state that could not be read.
func TestStatusShowsAnUnknownRoleAPendingFenceAndWhatCouldNotBeRead(t *testing.T) {
	at := time.Date(2026, 11, 23, 13, 54, 50, 0, time.UTC)
	fo := journal.Operation{
		ID: "alert-e56a", Action: command.Failover, Pair: "contoso-b2b", Status: journal.Waiting, Created: at, Updated: at, RTO: 19906 * time.Millisecond,
		Source: journal.Source{AlertID: "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/e56a", AlertRule: "contoso-ia-weu-unavailable", RequestedBy: "alert"},
		Steps: []journal.Step{
			{Name: "flip", Status: journal.StepDone, Outcome: "secondary is active at epoch 1; RTO 19.906s"},
			{Name: "fence-old-side", Status: journal.StepWaiting, Outcome: "fence pending: the old side does not answer"},
		},
	}
	o := overview.Overview{
		Generated: at,
		Streams: []replication.StreamStatus{{Pair: "contoso-b2b", Active: replication.Secondary, Epoch: 1, Direction: "secondary->primary", LagSeconds: -1, SinceSuccessSeconds: -1,
			LastError: "read standby session \"X\": the endpoint closed connections without answering (3 tries)", RunInProgress: true, Scan: replication.ScanFull, ScanListed: 400, LastRun: at}},
		Pending:    []journal.Operation{fo},
		Operations: []journal.Operation{fo},
		SSIS: []ssis.PairStatus{{Report: ssis.Report{
			Pair: "contoso-ssis", At: at, Unknown: "the two sides of ARM disagree: westeurope says Primary, northeurope says Primary",
			Sides: map[ssis.Side]ssis.SideReport{
				ssis.SidePrimary:   {Role: ssis.Unknown, IR: "ssis-ir-weu"},
				ssis.SideSecondary: {Role: ssis.Unknown, IR: "ssis-ir-neu"},
			},
			Problems: []string{"northeurope: failover group: the endpoint refused connections (5 tries)"},
		}, InFlight: []string{"ir|secondary: start begun 2026-11-23T13:50:00Z, failed 2 times (IntegrationRuntimeStartFailed), next try after 2026-11-23T13:58:00Z"}}},
		Problems: []string{"readiness of contoso-b2b: decode readiness report of contoso-b2b: unexpected end of JSON input"},
	}
	var b strings.Builder
	if err := renderStatus(&b, toStatus(o)); err != nil {
		t.Fatal(err)
	}
	golden(t, "status_unknown_role", b.String())
	v := checkSchema[view.Status](t, "status --json", mustJSON(toStatus(o)))
	if v.SSIS[0].Unknown == "" || v.SSIS[0].Sides[0].Role != "Unknown" || v.Pending[0].Steps[1].Status != "waiting" || v.Streams[0].Watermark != nil {
		t.Errorf("%+v", v)
	}
}

func TestAnOperationsStatusIsItsExitCode(t *testing.T) {
	for status, want := range map[journal.Status]int{
		journal.Succeeded: ExitOK, journal.Waiting: ExitOK, journal.Running: ExitOK, journal.Proposed: ExitOK,
		journal.Rejected: ExitRefused, journal.Failed: ExitFailed, journal.Cancelled: ExitFailed,
	} {
		err := exitFor(journal.Operation{ID: "op-1", Status: status, Error: "why"})
		got := ExitOK
		var ee *ExitError
		if errors.As(err, &ee) {
			got = ee.Code
		}
		if got != want {
			t.Errorf("%s: exit %d, want %d (%v)", status, got, want, err)
		}
	}
}

// rootCapturing is drctl's command tree with the operating command name running
// capture instead of its plan: what a test sees is how the flags were read.
func rootCapturing(name string, capture func(context.Context, *operateOptions) error) *cobra.Command {
	f := testFactory(func(string) string { return "" })
	root := NewRootCmd(f)
	for _, c := range root.Commands() {
		if c.Name() == name {
			root.RemoveCommand(c)
		}
	}
	build := map[string]func(*Factory, func(context.Context, *operateOptions) error) *cobra.Command{
		"failover": newCmdFailover, "fallback": newCmdFallback, "attach-ir": newCmdAttachIR,
		"drill": newCmdDrill, "confirm": newCmdConfirm, "cancel": newCmdCancel, "mirror": newCmdMirror,
	}
	root.AddCommand(build[name](f, capture))
	return root
}
