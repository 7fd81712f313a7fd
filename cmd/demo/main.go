// Command demo runs integration-dr end to end on this machine: Azurite for Table
// Storage, the ARM stand-in serving a primary and a secondary integration account, and
// the real handler binary, invoked with the Functions host's wire format on a timer
// while partner traffic keeps changing control numbers on the primary. It exits 0 only
// if the secondary converges to the primary.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/auth"
	"integration-dr/config"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/dev/sqlstandin"
	"integration-dr/handlers"
	"integration-dr/replication"
	"integration-dr/session"
)

type options struct {
	agreements int
	load       time.Duration
	tick       time.Duration
	rate       float64
	latency    time.Duration
	scale      float64
	drLoad     time.Duration
	keep       bool
	settings   string
}

func main() {
	var o options
	flag.IntVar(&o.agreements, "agreements", 21, "trading agreements to seed (X12, EDIFACT, AS2 in turn)")
	flag.DurationVar(&o.load, "load", 30*time.Second, "how long partner traffic runs")
	flag.DurationVar(&o.tick, "tick", 3*time.Second, "timer period of the replication function")
	flag.Float64Var(&o.rate, "rate", 8, "control number changes per second on the primary")
	flag.DurationVar(&o.latency, "latency", 10*time.Millisecond, "latency the ARM stand-in adds to every call")
	flag.DurationVar(&o.drLoad, "dr-load", 9*time.Second, "how long each traffic phase of the disaster half runs")
	flag.Float64Var(&o.scale, "scale", 20, "ARM time scale: the stand-in refills ARM's buckets this many times faster, and the lease shrinks alike")
	flag.BoolVar(&o.keep, "keep", false, "keep the stack running after the demo, for drctl (make demo-up)")
	flag.StringVar(&o.settings, "settings-dir", defaultSettingsDir, "with -keep, where the stack's settings are written for drctl (relative: to the project folder)")
	flag.Parse()
	// Ctrl-C, SIGTERM (make forwards it, as do service managers) and a closed
	// terminal all end the demo the same way: every process it started is stopped
	// and its files removed before it exits 0.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	err := run(ctx, o, os.Stdout)
	switch {
	case ctx.Err() != nil && o.keep:
		// What demo-up is for: the operator ends it when done.
		fmt.Fprintln(os.Stdout, "stopped: Azurite, the handler and the stand-ins have exited; nothing is left running.")
	case ctx.Err() != nil:
		// The demo is a check: cut short, it has not passed.
		fmt.Fprintln(os.Stderr, "demo interrupted; nothing is left running")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	fmt.Fprintln(out, "starting Azurite (Table Storage) and the ARM stand-in...")
	local, err := localstack.Up(ctx, "integration-dr-demo", o.latency, o.scale)
	if err != nil {
		return err
	}
	defer local.Close()
	arm, armURL, az, dir := local.ARM, local.ARMURL, local.Azurite, local.Dir
	agr := localstack.Seed(arm, o.agreements, time.Now().Add(-24*time.Hour))
	if err := localstack.SeedArtifacts(arm); err != nil {
		return err
	}
	fmt.Fprintf(out, "ARM stand-in at %s: %d agreements on both accounts, %d sessions on the primary\n", armURL, len(agr), len(arm.Sessions(localstack.PrimaryGroup, localstack.PrimaryAcct)))

	fmt.Fprintln(out, "building and starting the handler binary...")
	bin, err := localstack.BuildHandler(ctx, dir)
	if err != nil {
		return err
	}
	logFile, err := os.Create(dir + "/handler.log")
	if err != nil {
		return err
	}
	defer logFile.Close()
	// SSISDB on both instances: in memory, following the failover group's members.
	sql := sqlstandin.New()
	sqlURL, err := sql.Start(ctx, 0)
	if err != nil {
		return err
	}
	if err := localstack.SeedSSIS(arm, sql, ssisStandby); err != nil {
		return err
	}
	if err := localstack.SeedSSISArtifacts(arm, sql); err != nil {
		return err
	}
	// The drift the demo shows and mends: a map on the primary account only, a
	// trigger on the primary factory only.
	if err := localstack.MakeDrift(arm); err != nil {
		return err
	}
	env := localstack.HandlerEnv(az.ConnectionString(), armURL, time.Minute)
	env["DR_SQL_STANDIN"] = sqlURL
	maps.Copy(env, localstack.BudgetEnv(o.scale))
	maps.Copy(env, drSettings(time.Minute))
	localstack.SeedRouting(arm)
	localstack.Workflows(arm, localstack.PrimaryGroup, demoIntake)
	arm.PutWorkflow(localstack.SecondaryGroup, demoIntake, armlogic.WorkflowStateDisabled)
	env["DR_RUN_LEASE"] = (2 * time.Minute / time.Duration(o.scale)).String()
	if o.keep {
		env[config.EnvReadiness] = keptReadinessEvery
	}
	h, err := localstack.StartHandler(ctx, bin, env, logFile)
	if err != nil {
		return err
	}
	defer func() { _ = h.Terminate() }() // best effort: the demo is ending either way

	// Partner traffic goes through the real armlogic client, as any ARM caller would.
	cred, armOpts, err := auth.ARM(config.Azure{ARMEndpoint: armURL, Credential: config.CredentialLocal}, 4)
	if err != nil {
		return err
	}
	client, err := armlogic.NewIntegrationAccountSessionsClient(localstack.Subscription, cred, armOpts)
	if err != nil {
		return err
	}
	traffic := localstack.NewTraffic(agr, 7, func(name string, c json.RawMessage) error {
		body := armlogic.IntegrationAccountSession{Properties: &armlogic.IntegrationAccountSessionProperties{Content: c}}
		_, err := client.CreateOrUpdate(ctx, localstack.PrimaryGroup, localstack.PrimaryAcct, name, body, nil)
		return err
	})
	loadCtx, stopLoad := context.WithTimeout(ctx, o.load)
	defer stopLoad()
	changes := make(chan int, 1)
	go func() {
		n := 0
		localstack.AtRate(loadCtx, o.rate, func() {
			if traffic.Step(time.Now()) == nil {
				n++
			}
		})
		changes <- n
	}()

	fmt.Fprintf(out, "partner traffic: %.0f changes/s for %s; ReplicateSessions every %s\n\n", o.rate, o.load, o.tick)
	const row = "%4v %6v %10v %7v %9v %7v %5v %8v %10v %9v\n"
	fmt.Fprintf(out, row, "tick", "status", "list calls", "listed", "rescanned", "writes", "same", "primary", "secondary", "lag")
	totals := map[string]int{}
	var last replication.Stats
	tickN, loadOver, converged := 0, false, false
	lastTick := time.Now()
	for !converged {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(lastTick.Add(o.tick))):
		}
		loadOver = loadOver || loadCtx.Err() != nil
		now := time.Now().UTC()
		r, err := localstack.Invoke(ctx, h.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, lastTick, now))
		lastTick = time.Now()
		if err != nil {
			return fmt.Errorf("invoke: %w", err)
		}
		tickN++
		var stats []replication.Stats
		_ = json.Unmarshal(r.ReturnValue, &stats)
		if len(stats) > 0 {
			last = stats[0]
			for k, n := range last.WritesByKind {
				totals[k] += n
			}
		}
		p, s := sessions(arm)
		fmt.Fprintf(out, row, tickN, r.Status, last.Pages, last.Listed, last.RescanSkipped, last.Writes, last.Same, len(p), len(s), last.Lag.Round(time.Millisecond))
		if r.Status != 200 {
			fmt.Fprintf(out, "  handler said: %v\n", r.Logs)
		}
		converged = loadOver && len(localstack.Differences(p, s)) == 0
		if loadOver && !converged && tickN > int(o.load/o.tick)+8 {
			return fmt.Errorf("secondary did not converge: %d sessions differ (handler log: %s)", len(localstack.Differences(p, s)), logFile.Name())
		}
	}
	n := <-changes

	fmt.Fprintf(out, "\n%d changes made on the primary; the secondary converged.\n\n", n)
	p, s := sessions(arm)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "record kind\tprimary\tsecondary\twrites\tlag\t")
	byKind := func(m map[string]json.RawMessage) map[string]int {
		c := map[string]int{}
		for name, content := range m {
			c[session.Classify(name, session.ParseContent(content)).String()]++
		}
		return c
	}
	pk, sk := byKind(p), byKind(s)
	for _, kind := range session.Kinds {
		k := kind.String()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", k, pk[k], sk[k], totals[k], last.Lag.Round(time.Millisecond))
	}
	tw.Flush()
	if err := disaster(ctx, o, arm, sql, h, env, agr, out); err != nil {
		return err
	}
	return offerDrctl(ctx, o.keep, o.settings, env, h.URL, out)
}

func sessions(arm *armstandin.Server) (primary, secondary map[string]json.RawMessage) {
	return arm.Sessions(localstack.PrimaryGroup, localstack.PrimaryAcct), arm.Sessions(localstack.SecondaryGroup, localstack.SecondaryAcct)
}
