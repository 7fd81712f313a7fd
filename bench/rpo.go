package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/replication"
	"integration-dr/session"
)

// rpo measures how long a change on the primary takes to be on the standby, under a
// steady load below the write budget, ticking every o.rpoTick; the model of the
// documented approach polls beside it at the same tick, fed by the same load.
func rpo(ctx context.Context, o options, az *localstack.Azurite, arm *armstandin.Server, armURL string, res result, out *report) error {
	const group, primary, secondary, baseStandby, sessions = "bench-rpo", "rpo-weu", "rpo-neu", "rpo-baseline", 2000
	accts, err := accounts(armURL, group, 16, primary, secondary, baseStandby)
	if err != nil {
		return err
	}
	src, dst, bdst := accts[0], accts[1], accts[2]
	store, _, err := state(ctx, az)
	if err != nil {
		return err
	}
	limits := localstack.BudgetLimits(o.scale)
	engine := replication.NewEngine(store, limits, slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{Workers: 16})
	pair := replication.Pair{Name: "bench-rpo", Primary: src, Secondary: dst, Overlap: 5 * time.Minute}
	base := &baseline{src: src, dst: bdst, replay: 5 * o.rpoTick}

	// Seeded an hour ago: only the load below falls in the baseline's replay window.
	names := make([]string, sessions)
	for i := range names {
		names[i] = fmt.Sprintf("Rpo%04d-X12-Icn", i)
		at := time.Now().Add(-time.Hour)
		arm.PutSessionAt(group, primary, names[i], localstack.ControlNumber("X12", 1, at), at)
	}
	if _, err := engine.Run(ctx, pair); err != nil {
		return err
	}
	if err := base.poll(ctx, time.Now()); err != nil {
		return err
	}

	type change struct {
		name  string
		stamp time.Time // the content's own time, which the standby's copy must reach
	}
	var changes []change
	done := make(chan struct{})
	loadCtx, stop := context.WithTimeout(ctx, o.rpoLoad)
	defer stop()
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(3, 9))
		n := int64(1)
		localstack.AtRate(loadCtx, o.rpoRate, func() {
			n++
			name, at := names[rng.IntN(sessions)], time.Now()
			arm.PutSession(group, primary, name, localstack.ControlNumber("X12", n, at))
			changes = append(changes, change{name, at})
		})
	}()
	out.printf("RPO: %.0f changes/s over %d sessions for %s, tick %s, write budget %.0f/s\n", o.rpoRate, sessions, o.rpoLoad, o.rpoTick, float64(limits.Writes.Limit()))
	converged := func() bool {
		p := arm.Sessions(group, primary)
		return len(localstack.Differences(p, arm.Sessions(group, secondary))) == 0 && len(localstack.Differences(p, arm.Sessions(group, baseStandby))) == 0
	}
	// Each polls on its own timer, as two separate deployments would: the baseline
	// copies one record at a time, and a slow poll of its own must not delay ours.
	poll := func(run func() error) error {
		for next := time.Now().Add(o.rpoTick); ; next = next.Add(o.rpoTick) {
			time.Sleep(time.Until(next))
			if err := run(); err != nil {
				return err
			}
			if loadCtx.Err() != nil && converged() {
				return nil
			}
		}
	}
	baseErr := make(chan error, 1)
	go func() { baseErr <- poll(func() error { return base.poll(ctx, time.Now()) }) }()
	if err := poll(func() error { _, err := engine.Run(ctx, pair); return err }); err != nil {
		return err
	}
	if err := <-baseErr; err != nil {
		return err
	}
	<-done

	delays := func(acct string) []float64 {
		writes := map[string][]armstandin.Write{}
		for _, w := range arm.Writes(group, acct) {
			writes[w.Name] = append(writes[w.Name], w)
		}
		var out []float64
		for _, c := range changes {
			for _, w := range writes[c.name] {
				if !session.ParseContent(w.Content).Stamp().Before(c.stamp) {
					out = append(out, w.At.Sub(c.stamp).Seconds())
					break
				}
			}
		}
		sort.Float64s(out)
		return out
	}
	ours, theirs := delays(secondary), delays(baseStandby)
	if len(ours) != len(changes) || len(theirs) != len(changes) {
		return fmt.Errorf("of %d changes, %d reached our standby and %d the baseline's", len(changes), len(ours), len(theirs))
	}
	out.printf("change to standby: p50 %.2fs, p99 %.2fs (baseline p50 %.2fs, p99 %.2fs)\n\n", pct(ours, 50), pct(ours, 99), pct(theirs, 50), pct(theirs, 99))
	res["rpo_changes"] = len(changes)
	res["rpo_tick_s"] = o.rpoTick.Seconds()
	res["change_to_standby_p50_s"] = round(pct(ours, 50), 2)
	res["change_to_standby_p99_s"] = round(pct(ours, 99), 2)
	res["baseline_change_to_standby_p50_s"] = round(pct(theirs, 50), 2)
	res["baseline_change_to_standby_p99_s"] = round(pct(theirs, 99), 2)
	return nil
}

// pct is the p-th percentile of sorted values (nearest rank).
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
