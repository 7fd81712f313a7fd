package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
	"integration-dr/replication"
)

// armBound replicates a large primary into an empty secondary at ARM's limits, the way
// the Functions host would run it: the real handler binary, on its timer, with default
// settings compressed in time like the stand-in's buckets. Then the secondary becomes
// unreachable while the primary changes, and comes back: the catch-up is timed the same
// way. Both are compared with the least time ARM's write bucket allows the writes.
func armBound(ctx context.Context, o options, bin string, az *localstack.Azurite, arm *armstandin.Server, armURL, dir string, res result, out *report) error {
	const group, primary, secondary = "bench-arm", "arm-weu", "arm-neu"
	seed(arm, group, primary, o.sessions)
	scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) / o.scale) }
	env := pairEnv(az, armURL, "bench-arm", group, primary, secondary)
	maps.Copy(env, map[string]string{
		// Default lease and clock skew, in compressed time.
		"DR_RUN_LEASE": scaled(2 * time.Minute).String(), "DR_CLOCK_SKEW": scaled(5 * time.Second).String(),
		// The stand-in's 20 ms is 20 × scale ms of real ARM time: enough workers that
		// latency, not the bucket, never sets the pace.
		"DR_WRITE_WORKERS": "16",
	})
	maps.Copy(env, localstack.BudgetEnv(o.scale))
	h, stop, err := startHandler(ctx, bin, env, dir+"/handler-arm.log")
	if err != nil {
		return err
	}
	defer stop()
	tick := scaled(time.Minute)
	converged := func() bool {
		return len(localstack.Differences(arm.Sessions(group, primary), arm.Sessions(group, secondary))) == 0
	}

	out.printf("first sync at ARM's limits: %d sessions, lease %s, tick %s (ARM's 2m and 1m at %gx)\n", o.sessions, env["DR_RUN_LEASE"], tick, o.scale)
	out.printf("%4s %7s %8s %10s %9s\n", "run", "status", "writes", "standby", "429s")
	arm.Stats(true)
	t0 := time.Now()
	runs, err := ticks(ctx, h.URL, tick, converged, func(run int, r localstack.Reply, st replication.Stats) {
		out.printf("%4d %7d %8d %10d %9d\n", run, r.Status, st.Writes, len(arm.Sessions(group, secondary)), throttled(arm.Stats(false)))
	})
	if err != nil {
		return err
	}
	full := time.Since(t0)
	bound := localstack.WriteBound(o.sessions, o.scale)
	out.printf("first sync: %s in %d runs; the write bucket's bound %s; %d answers of 429\n\n", full.Round(time.Millisecond), runs, bound.Round(time.Millisecond), throttled(arm.Stats(true)))
	res["full_sync_sessions"] = o.sessions
	res["full_sync_s"] = round(full.Seconds(), 1)
	res["full_sync_bound_s"] = round(bound.Seconds(), 1)
	res["full_sync_over_bound"] = round(full.Seconds()/bound.Seconds(), 3)
	res["full_sync_runs"] = runs

	// The standby region goes away while partners keep changing numbers.
	arm.SetUnreachable(group, secondary, true)
	for i := range o.catchUp {
		name, content := benchSession(i, time.Now()) // the same session, a newer state
		arm.PutSession(group, primary, name, content)
	}
	r, err := localstack.Invoke(ctx, h.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, time.Now(), time.Now()))
	if err != nil {
		return err
	}
	out.printf("standby unreachable, %d sessions changed: the tick answered %d: %s\n", o.catchUp, r.Status, last(r.Logs))
	arm.SetUnreachable(group, secondary, false)
	t1 := time.Now()
	runs, err = ticks(ctx, h.URL, tick, converged, func(run int, r localstack.Reply, st replication.Stats) {
		out.printf("%4d %7d %8d %10d %9d\n", run, r.Status, st.Writes, len(arm.Sessions(group, secondary)), throttled(arm.Stats(false)))
	})
	if err != nil {
		return err
	}
	catch := time.Since(t1)
	cbound := localstack.WriteBound(o.catchUp, o.scale)
	out.printf("catch-up: %s in %d runs after the standby came back; the write bucket's bound %s\n\n", catch.Round(time.Millisecond), runs, cbound.Round(time.Millisecond))
	res["catch_up_sessions"] = o.catchUp
	res["catch_up_s"] = round(catch.Seconds(), 1)
	res["catch_up_bound_s"] = round(cbound.Seconds(), 1)
	res["catch_up_over_bound"] = round(catch.Seconds()/cbound.Seconds(), 3)
	return nil
}

// ticks invokes ReplicateSessions as the host's timer does, every tick or at once when
// a run outlasted it (past due), until done holds after a run; it returns the runs made.
func ticks(ctx context.Context, url string, tick time.Duration, done func() bool, each func(int, localstack.Reply, replication.Stats)) (int, error) {
	next := time.Now()
	for run := 1; ; run++ {
		if run > 10000 {
			return run, fmt.Errorf("no convergence after %d runs", run)
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(time.Until(next)):
		}
		now := time.Now()
		next = now.Add(tick)
		r, err := localstack.Invoke(ctx, url, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, now.Add(-tick), now))
		if err != nil {
			return run, err
		}
		var stats []replication.Stats
		_ = json.Unmarshal(r.ReturnValue, &stats)
		var st replication.Stats
		if len(stats) > 0 {
			st = stats[0]
		}
		each(run, r, st)
		if r.Status != http.StatusOK {
			return run, fmt.Errorf("run %d answered %d: %v", run, r.Status, r.Logs)
		}
		if st.ScanDone && done() {
			return run, nil
		}
	}
}

func throttled(stats armstandin.Stats) int {
	n := 0
	for _, ops := range stats {
		n += ops["throttled"]
	}
	return n
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
