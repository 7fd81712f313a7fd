package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"integration-dr/azure/logic"
	"integration-dr/command"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/replication"
	"integration-dr/session"
)

// failoverBench fails a pair of 500 agreements (X12 and EDIFACT, every generated
// level) over at ARM's limits with 20 ms latency, and times it against the least time
// ARM's write bucket allows its writes plus the settle time; beside it, the seed
// guide's procedure modelled the way an operator runs it: one agreement at a time, a
// Get then a Set. A drill of the same pair is timed too.
func failoverBench(ctx context.Context, o options, az *localstack.Azurite, arm *armstandin.Server, armURL string, res result, out *report) error {
	const group, primary, secondary, scratch, agreements = "bench-fo", "fo-weu", "fo-neu", "fo-scratch", 500
	names := localstack.SeedAgreements(arm, group, primary, agreements)
	localstack.SeedAgreements(arm, group, secondary, agreements)
	at := arm.ServiceNow(group, primary).Add(-time.Hour)
	for i, name := range names {
		for j, level := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
			arm.PutSessionAt(group, primary, failover.SessionName(name, level), localstack.ControlNumber("X12", int64(1000+10*i+j), at), at)
		}
	}
	scale := o.foScale
	arm.SetLimits(armstandin.ARMLimits(scale))
	defer arm.SetLimits(armstandin.ARMLimits(o.scale))
	accts, err := accounts(armURL, group, 16, primary, secondary, scratch)
	if err != nil {
		return err
	}
	store, jrnl, err := state(ctx, az)
	if err != nil {
		return err
	}
	limits := localstack.BudgetLimits(scale)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engine := replication.NewEngine(store, limits, log, replication.Options{Workers: 16})
	rp := replication.Pair{Name: "bench-fo", Primary: accts[0], Secondary: accts[1], Overlap: 5 * time.Minute}
	for {
		st, err := engine.Run(ctx, rp)
		if err != nil {
			return err
		}
		if st.ScanDone {
			break
		}
	}
	cred, armOpts, err := armClient(armURL, 16)
	if err != nil {
		return err
	}
	side := func(acct replication.Account, name string) (failover.Side, error) {
		ags, err := logic.NewAgreements(localstack.AccountID(group, name), cred, armOpts)
		return failover.Side{Sessions: acct, Agreements: ags}, err
	}
	ps, err := side(accts[0], primary)
	if err != nil {
		return err
	}
	ss, err := side(accts[1], secondary)
	if err != nil {
		return err
	}
	settle := time.Duration(float64(15*time.Second) / scale)
	pair := failover.Pair{Name: "bench-fo", Replication: rp, Primary: ps, Secondary: ss, Settle: settle,
		Policy: failover.Policy{MinBump: 1000, BlockSize: 100, Safety: 5 * time.Minute}, RequireDuplicateChecks: true}
	runner := &failover.Runner{Journal: jrnl, Streams: store, CatchUp: engine, Pairs: map[string]failover.Pair{"bench-fo": pair},
		Writes: limits.Writes, Log: log, ClockSkew: 5 * time.Second, Workers: 16}

	t0 := time.Now()
	drill, err := runner.Submit(ctx, command.Command{ID: "bench-drill", Action: command.Drill, Pair: "bench-fo"}, journal.Source{RequestedBy: "bench"}, t0)
	if err != nil {
		return err
	}
	drillS := time.Since(t0)
	if drill.Status != journal.Succeeded {
		return fmt.Errorf("drill: %s %s", drill.Status, drill.Error)
	}

	// The seed's procedure, as many writes as our plan makes: a Get then a Set, one
	// session after the other, through the same adapters and buckets; the Sets go to
	// scratch sessions, so that our plan starts from the state the drill saw.
	bumps := drill.StepByName(failover.StepFloors)
	// Every generated number the agreements have a range for: interchange, group,
	// transaction set and acknowledgement (the target has no session for the last yet:
	// the seed's procedure would create it).
	levels := []failover.Level{failover.ICN, failover.GCN, failover.TSCN, failover.Ack}
	writes := len(names) * len(levels)
	t1 := time.Now()
	for i := range writes {
		name := failover.SessionName(names[i/len(levels)], levels[i%len(levels)])
		cur, err := accts[1].Get(ctx, name)
		if drerr.Is(err, drerr.NotFound) {
			cur, err = session.Session{Name: name, Content: json.RawMessage(`{"ControlNumber":"000000001"}`)}, nil
		}
		if err != nil {
			return err
		}
		if err := limits.Writes.Wait(ctx); err != nil {
			return err
		}
		if err := accts[2].Put(ctx, session.Session{Name: name, Content: cur.Content}); err != nil {
			return err
		}
	}
	sequential := time.Since(t1)

	t2 := time.Now()
	op, err := runner.Submit(ctx, command.Command{ID: "bench-failover", Action: command.Failover, Pair: "bench-fo"}, journal.Source{RequestedBy: "bench"}, t2)
	if err != nil {
		return err
	}
	for op.Status == journal.Waiting || op.Status == journal.Running {
		time.Sleep(settle / 10) // the operations timer, ten times per settle
		ops, err := runner.Advance(ctx)
		if err != nil {
			return err
		}
		for _, o := range ops {
			if o.ID == op.ID {
				op = o
			}
		}
	}
	elapsed := time.Since(t2)
	for _, st := range op.Steps {
		out.printf("  %-20s %9s  %s\n", st.Name, st.Ended.Sub(st.Started).Round(time.Millisecond), st.Outcome)
	}
	if op.Status != journal.Succeeded {
		return fmt.Errorf("failover: %s %s", op.Status, op.Error)
	}
	bound := localstack.WriteBound(writes, scale) + settle
	out.printf("failover: %d agreements, %d bumps in %s (bound %s: the write bucket plus a %s settle); the seed's one-by-one procedure %s; drill %s (%s)\n\n",
		agreements, writes, elapsed.Round(time.Millisecond), bound.Round(time.Millisecond), settle, sequential.Round(time.Millisecond), drillS.Round(time.Millisecond), bumps.Outcome)
	res["failover_arm_time_scale"] = scale
	res["failover_agreements"] = agreements
	res["failover_writes"] = writes
	res["failover_s"] = round(elapsed.Seconds(), 2)
	res["failover_bound_s"] = round(bound.Seconds(), 2)
	res["failover_s_over_bound"] = round(elapsed.Seconds()/bound.Seconds(), 3)
	res["sequential_s"] = round(sequential.Seconds(), 2)
	res["sequential_over_ours"] = round(sequential.Seconds()/elapsed.Seconds(), 2)
	res["drill_s"] = round(drillS.Seconds(), 2)
	return nil
}
