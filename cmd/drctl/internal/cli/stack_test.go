package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/app"
	"integration-dr/config"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const (
	intake      = "x12-intake"
	agreementsN = 6
)

// stack is one test's local Azure: Azurite and the ARM stand-in, with an
// integration-account pair (agreements, generated numbers on the primary, intake
// workflows) and an SSIS pair (a failover group, runtimes and triggers; no SQL
// endpoint, so its roles come from ARM alone). drctl runs in-process against it.
type stack struct {
	t   *testing.T
	ctx context.Context
	az  *localstack.Azurite
	arm *armstandin.Server
	env map[string]string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	az := localstack.AzuriteForTest(t)
	arm := armstandin.New()
	armURL, err := arm.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	topo, _ := json.Marshal(map[string]any{
		"pairs": []map[string]any{{
			"name": localstack.PairName, "overlap": "1m",
			"primary":   localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct),
			"secondary": localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct),
			"failover": map[string]any{
				"primaryWorkflows":   []string{localstack.WorkflowID(localstack.PrimaryGroup, intake)},
				"secondaryWorkflows": []string{localstack.WorkflowID(localstack.SecondaryGroup, intake)},
				"settle":             "1s", "cooldown": "0s",
			},
		}},
		"ssisPairs": []map[string]any{ssisTopology()},
	})
	s := &stack{t: t, ctx: ctx, az: az, arm: arm, env: map[string]string{
		config.EnvStorage:     az.ConnectionString(),
		config.EnvTopology:    string(topo),
		config.EnvARMEndpoint: armURL,
		config.EnvCredential:  config.CredentialLocal,
		config.EnvClockSkew:   "1s",
		config.EnvLease:       "10s",
		// The kept readiness report is the operations timer's; these tests keep
		// one explicitly, so that what status shows does not depend on timing.
		config.EnvReadiness: "0",
	}}
	for _, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
		for i, name := range localstack.SeedAgreements(arm, side[0], side[1], agreementsN) {
			if side[0] != localstack.PrimaryGroup {
				continue
			}
			protocol := "X12"
			if strings.HasSuffix(name, "EDIFACT") {
				protocol = "EDIFACT"
			}
			for j, level := range []string{"Icn", "Gcn", "Tscn"} {
				arm.PutSession(side[0], side[1], name+"-"+level, controlNumber(protocol, 1000+10*i+j))
			}
		}
	}
	localstack.Workflows(arm, localstack.PrimaryGroup, intake)
	arm.PutWorkflow(localstack.SecondaryGroup, intake, armlogic.WorkflowStateDisabled)
	seedSSIS(arm)
	return s
}

// ssisTopology is the demo's SSIS pair without SQL endpoints or schedules: a build
// without the standin tag cannot reach the SQL stand-in, and the roles then come from
// ARM alone.
func ssisTopology() map[string]any {
	side := func(s localstack.SSISSide) map[string]any {
		return map[string]any{
			"failoverGroup": s.FailoverGroupID(), "dataFactory": s.FactoryID(), "integrationRuntime": s.IR,
			"triggers": []string{localstack.SSISTrigger}, "triggerAnnotation": localstack.SSISAnnotation,
		}
	}
	return map[string]any{"name": localstack.SSISPairName, "standbyIR": "running", "primary": side(localstack.SSISSides[0]), "secondary": side(localstack.SSISSides[1])}
}

// seedSSIS sets the SSIS pair up converged, as localstack.SeedSSIS does for ARM.
func seedSSIS(arm *armstandin.Server) {
	arm.PutFailoverGroup(armstandin.FailoverGroup{
		Name: localstack.SSISFailoverGroup, Kind: armstandin.ManagedInstance, Primary: 0,
		Members: [2]armstandin.FailoverGroupMember{
			{Group: localstack.SSISSides[0].Group, Server: localstack.SSISSides[0].Instance, Location: localstack.SSISSides[0].Location},
			{Group: localstack.SSISSides[1].Group, Server: localstack.SSISSides[1].Instance, Location: localstack.SSISSides[1].Location},
		},
	})
	for i, s := range localstack.SSISSides {
		trigger := "Started"
		if i == 1 {
			trigger = "Stopped"
		}
		arm.PutIntegrationRuntime(s.Group, s.Factory, s.IR, "Started")
		arm.PutTrigger(s.Group, s.Factory, localstack.SSISTrigger, trigger)
		arm.PutTrigger(s.Group, s.Factory, "weekly-archive", trigger, localstack.SSISAnnotation)
		arm.PutTrigger(s.Group, s.Factory, "adhoc-export", "Started")
	}
}

// controlNumber is a generated number's content with the width X12 uses.
func controlNumber(protocol string, n int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"ControlNumber": fmt.Sprintf("%09d", n), "ControlNumberChangedTime": time.Now().UTC().Format(time.RFC3339Nano), "MessageType": protocol})
	return b
}

// result is one drctl run.
type result struct {
	code     int
	out, err string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

// drctl runs drctl in-process with the stack's settings in the environment.
func (s *stack) drctl(args ...string) result {
	s.t.Helper()
	return runDrctl(s.ctx, s.factory(), args...)
}

func (s *stack) factory() *Factory {
	return testFactory(func(k string) string { return s.env[k] })
}

// testFactory is a factory with captured streams (no terminal) and no Service Bus.
func testFactory(getenv func(string) string) *Factory {
	f := NewFactory()
	f.IO = &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
	f.Getenv = getenv
	f.User = func() string { return "tester (drctl)" }
	f.PollEvery = 100 * time.Millisecond
	f.DriveEvery = 300 * time.Millisecond
	return f
}

func runDrctl(ctx context.Context, f *Factory, args ...string) result {
	code := Main(ctx, f, args)
	return result{code: code, out: f.IO.Out.(*bytes.Buffer).String(), err: f.IO.Err.(*bytes.Buffer).String()}
}

// must runs drctl and fails the test unless it exits with code.
func (s *stack) must(code int, args ...string) result {
	s.t.Helper()
	r := s.drctl(args...)
	if r.code != code {
		s.t.Fatalf("drctl %s: want exit %d\n%s", strings.Join(args, " "), code, r)
	}
	return r
}

// app builds the app as drctl does, for what the tests do beside drctl (an SSIS
// reconcile pass, a kept readiness report).
func (s *stack) app() *app.App {
	s.t.Helper()
	a, err := s.factory().App(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

var (
	timestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	freshID   = regexp.MustCompile(`\b([a-z][a-z-]*)-\d{8}-\d{6}-[0-9a-f]{8}\b`)
	nanoID    = regexp.MustCompile(`\breconcile-\d+\b`)
	duration  = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*\b`)
	spaces    = regexp.MustCompile(`  +`)
)

// normalise takes out what differs between runs (times, durations, fresh ids) and
// the column padding that follows their widths.
func normalise(s string) string {
	s = timestamp.ReplaceAllString(s, "<time>")
	s = freshID.ReplaceAllString(s, "$1-<id>")
	s = nanoID.ReplaceAllString(s, "reconcile-<id>")
	s = duration.ReplaceAllString(s, "<dur>")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.TrimRight(spaces.ReplaceAllString(l, "  "), " "))
	}
	return strings.Join(lines, "\n")
}

// golden compares got, normalised, with testdata/name.golden (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalise(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}
