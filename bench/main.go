// Command bench measures replication against the local ARM stand-in with injected
// latency: a full sync of a large account (through the real handler binary), and a
// hot-key steady load (through the engine, the armlogic adapter and aztables on
// Azurite), side by side with a model of the documented approach. It prints a table,
// then one JSON object as its last line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/time/rate"

	"integration-dr/azure/tables"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
	"integration-dr/replication"
)

type options struct {
	latency   time.Duration
	scale     float64
	sessions  int
	catchUp   int
	hot       int
	changesPS float64
	load      time.Duration
	tick      time.Duration
	budget    float64
	rpoTick   time.Duration
	rpoRate   float64
	rpoLoad   time.Duration
	only      string
	foScale   float64
	mirror    int
}

func main() {
	var o options
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency the ARM stand-in adds to every call")
	flag.IntVar(&o.sessions, "sessions", 50000, "sessions in the full-sync scenario")
	flag.IntVar(&o.hot, "hot", 200, "sessions in the hot-key scenario")
	flag.Float64Var(&o.changesPS, "changes", 50, "changes per second in the hot-key scenario")
	flag.DurationVar(&o.load, "load", 60*time.Second, "length of the hot-key load")
	flag.DurationVar(&o.tick, "tick", 5*time.Second, "timer period in the hot-key scenario")
	flag.Float64Var(&o.budget, "budget", 20, "write budget in the hot-key scenario, in writes per second, spread evenly (burst 1)")
	flag.Float64Var(&o.scale, "scale", 20, "ARM time scale: the stand-in refills ARM's buckets this many times faster; leases and ticks of the ARM-bound scenarios shrink alike")
	flag.IntVar(&o.catchUp, "catch-up", 20000, "sessions changed while the standby is unreachable, in the catch-up scenario")
	flag.DurationVar(&o.rpoTick, "rpo-tick", 10*time.Second, "timer period in the RPO scenario")
	flag.Float64Var(&o.rpoRate, "rpo-changes", 20, "changes per second in the RPO scenario (below the write budget)")
	flag.DurationVar(&o.rpoLoad, "rpo-load", time.Minute, "length of the RPO scenario's load")
	flag.Float64Var(&o.foScale, "failover-scale", 5, "ARM time scale of the failover scenario: its bound is short, so a smaller scale keeps listing overhead from dominating it")
	flag.IntVar(&o.mirror, "mirror", 500, "artifacts the mirror scenario copies to an empty standby, at ARM's real limits")
	flag.StringVar(&o.only, "only", "", "run only these scenarios (comma-separated: ceiling, arm, failover, mirror, hot, rpo); default all")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
}

type result map[string]any

func run(ctx context.Context, o options, w io.Writer) error {
	out := &report{w: w}
	local, err := localstack.Up(ctx, "integration-dr-bench", o.latency, o.scale)
	if err != nil {
		return err
	}
	defer local.Close()
	az, arm, armURL, dir := local.Azurite, local.ARM, local.ARMURL, local.Dir
	res := result{"latency_ms": o.latency.Milliseconds(), "arm_time_scale": o.scale}

	out.printf("ARM stand-in latency %s per call, ARM's buckets at %gx time; Azurite for Table Storage\n\n", o.latency, o.scale)
	bin, err := localstack.BuildHandler(ctx, dir)
	if err != nil {
		return err
	}
	scenarios := []struct {
		name string
		run  func() error
	}{
		{"ceiling", func() error { return fullSync(ctx, o, bin, az, arm, armURL, dir, res, out) }},
		{"arm", func() error { return armBound(ctx, o, bin, az, arm, armURL, dir, res, out) }},
		{"failover", func() error { return failoverBench(ctx, o, az, arm, armURL, res, out) }},
		{"mirror", func() error { return mirrorBench(ctx, o, az, arm, armURL, res, out) }},
		{"hot", func() error { return hotKeys(ctx, o, az, arm, armURL, res, out) }},
		{"rpo", func() error { return rpo(ctx, o, az, arm, armURL, res, out) }},
	}
	for _, sc := range scenarios {
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		if err := sc.run(); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	out.println("\nmetric                                  value")
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.printf("%-38s  %v\n", k, res[k])
	}
	line, _ := json.Marshal(res)
	out.println(string(line))
	return out.err
}

// report is where the bench writes its progress, tables and last line. The first
// write that fails is kept, later writes are skipped, and run returns it: a closed
// pipe or a full disk fails the bench instead of losing its figures unseen.
type report struct {
	w   io.Writer
	err error
}

func (r *report) printf(format string, a ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, a...)
	}
}

func (r *report) println(a ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintln(r.w, a...)
	}
}

// fullSync replicates a large primary into an empty secondary with the real handler
// binary and reads the handler's peak resident memory. It measures the engine's own
// ceiling, so ARM's buckets are lifted here, and only here: with them on, the write
// bucket decides the time (armBound measures that).
func fullSync(ctx context.Context, o options, bin string, az *localstack.Azurite, arm *armstandin.Server, armURL, dir string, res result, out *report) error {
	const group, primary, secondary = "bench-full", "full-weu", "full-neu"
	out.printf("engine ceiling (ARM's buckets lifted): seeding %d sessions...\n", o.sessions)
	seed(arm, group, primary, o.sessions)
	arm.SetLimits(armstandin.Limits{Off: true})
	defer arm.SetLimits(armstandin.ARMLimits(o.scale))
	env := pairEnv(az, armURL, "bench-full", group, primary, secondary)
	maps.Copy(env, map[string]string{
		"DR_WRITE_BUDGET_PER_SECOND": "100000", "DR_WRITE_BUDGET_BURST": "100000",
		"DR_READ_BUDGET_PER_SECOND": "100000", "DR_READ_BUDGET_BURST": "100000",
		"DR_WRITE_WORKERS": "128", "DR_LIST_PAGE_SIZE": "1000", "DR_BATCH_SIZE": "2000", "DR_RUN_LEASE": "30m",
	})
	h, stop, err := startHandler(ctx, bin, env, dir+"/handler.log")
	if err != nil {
		return err
	}
	defer stop()
	arm.Stats(true)
	t0 := time.Now()
	r, err := localstack.Invoke(ctx, h.URL, handlers.FnReplicateSessions, localstack.TimerPayload(handlers.FnReplicateSessions, t0, t0))
	elapsed := time.Since(t0)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("handler answered %d: %v", r.Status, r.Logs)
	}
	rss, err := h.PeakRSS()
	if err != nil {
		return err
	}
	p, s := arm.Sessions(group, primary), arm.Sessions(group, secondary)
	if d := len(localstack.Differences(p, s)); d > 0 {
		return fmt.Errorf("%d sessions differ after the full sync", d)
	}
	calls := arm.Stats(true)
	rate := float64(o.sessions) / elapsed.Seconds()
	out.printf("full sync: %d sessions in %s = %.0f sessions/s; %d list calls, %d writes; handler peak RSS %.1f MB\n\n",
		o.sessions, elapsed.Round(time.Millisecond), rate, calls[group+"/"+primary]["sessions.list"], calls[group+"/"+secondary]["sessions.put"], rss)
	res["initial_sync_sessions"] = o.sessions
	res["initial_sync_seconds"] = round(elapsed.Seconds(), 2)
	res["initial_sync_sessions_per_s"] = round(rate, 0)
	res["peak_rss_mb"] = round(rss, 1)
	return nil
}

// seed puts n sessions of every record kind on an account, all last changed an hour
// ago by the service's clock, as an account in use for a while holds them.
func seed(arm *armstandin.Server, group, acct string, n int) {
	start := arm.ServiceNow(group, acct).Add(-time.Hour)
	for i := range n {
		name, content := benchSession(i, start)
		arm.PutSessionAt(group, acct, name, content, start.Add(time.Duration(i)*time.Millisecond))
	}
}

// benchSession is the i-th session of the full-sync account: all record kinds.
func benchSession(i int, start time.Time) (string, json.RawMessage) {
	at := start.Add(time.Duration(i) * time.Millisecond)
	switch i % 4 {
	case 0:
		return fmt.Sprintf("Partner%05d-X12-Icn", i), localstack.ControlNumber("X12", int64(i), at)
	case 1:
		return fmt.Sprintf("X12-ICN-Partner%05d-%09d", i, i), localstack.ControlNumber("X12", int64(i), at)
	case 2:
		return fmt.Sprintf("Partner%05d-EDI-Gcn", i), localstack.ControlNumber("EDIFACT", int64(i), at)
	default:
		return fmt.Sprintf("Partner%05d-MIC-%d", i, i), localstack.MIC(fmt.Sprintf("Partner%05d", i), int64(i), at)
	}
}

// counter counts HTTP calls through an azcore pipeline.
type counter struct{ n atomic.Int64 }

func (c *counter) Do(req *policy.Request) (*http.Response, error) {
	c.n.Add(1)
	return req.Next()
}

type tickRecord struct {
	writes, lists, table int
	listedBy             time.Time // when the run began: it listed changes made before
}

// hotKeys runs a skewed load over a few hundred sessions through the engine, ticking
// on a timer, next to the baseline model fed by the same load.
func hotKeys(ctx context.Context, o options, az *localstack.Azurite, arm *armstandin.Server, armURL string, res result, out *report) error {
	const group, primary, secondary, baseStandby = "bench-hot", "hot-weu", "hot-neu", "hot-baseline"
	accts, err := accounts(armURL, group, 8, primary, secondary, baseStandby)
	if err != nil {
		return err
	}
	src, dst, bdst := accts[0], accts[1], accts[2]
	tableCalls0 := &counter{}
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), &aztables.ClientOptions{ClientOptions: policy.ClientOptions{PerRetryPolicies: []policy.Policy{tableCalls0}}})
	if err != nil {
		return err
	}
	store, err := tables.Open(ctx, svc, "drstate")
	if err != nil {
		return err
	}
	engine := replication.NewEngine(store, replication.Limits{Writes: rate.NewLimiter(rate.Limit(o.budget), 1)}, slog.New(slog.NewTextHandler(io.Discard, nil)), replication.Options{})
	pair := replication.Pair{Name: "bench-hot", Primary: src, Secondary: dst, Overlap: 5 * time.Minute}
	base := &baseline{src: src, dst: bdst, replay: 5 * o.tick}

	names := make([]string, o.hot)
	numbers := make([]int64, o.hot)
	for i := range names {
		names[i] = fmt.Sprintf("Hot%03d-X12-Icn", i)
		arm.PutSession(group, primary, names[i], localstack.ControlNumber("X12", 1, time.Now()))
	}
	// Both start from a full copy; only what follows is measured.
	if _, err := engine.Run(ctx, pair); err != nil {
		return err
	}
	if err := base.poll(ctx, time.Now()); err != nil {
		return err
	}
	base.writes, base.lists = 0, 0
	loadStart := time.Now()

	// The load: Zipf-skewed changes, recorded with the service's changedTime.
	type change struct {
		name string
		at   time.Time
	}
	changes := make(chan []change, 1)
	loadCtx, stopLoad := context.WithTimeout(ctx, o.load)
	defer stopLoad()
	go func() {
		rng := rand.New(rand.NewPCG(42, 7))
		zipf := rand.NewZipf(rng, 1.2, 1, uint64(o.hot-1))
		var log []change
		localstack.AtRate(loadCtx, o.changesPS, func() {
			i := zipf.Uint64()
			numbers[i]++
			at := arm.PutSession(group, primary, names[i], localstack.ControlNumber("X12", numbers[i]+1, time.Now()))
			log = append(log, change{names[i], at})
		})
		changes <- log
	}()

	out.printf("hot keys: %d sessions, %.0f changes/s Zipf-skewed for %s, tick %s, budget %.0f writes/s\n", o.hot, o.changesPS, o.load, o.tick, o.budget)
	out.printf("%6s %8s %7s %10s %12s %15s\n", "t(s)", "phase", "writes", "list calls", "table calls", "baseline writes")
	var ticks []tickRecord
	var loadStopped, convergedAt time.Time
	idle := 0
	next := time.Now()
	for idle < 6 {
		next = next.Add(o.tick)
		time.Sleep(time.Until(next))
		phase := "load"
		if loadCtx.Err() != nil {
			if loadStopped.IsZero() {
				loadStopped = time.Now()
			}
			phase = "drain"
			if !convergedAt.IsZero() {
				phase, idle = "idle", idle+1
			}
		}
		// Ours and the baseline poll side by side, seeing the same load.
		before := tableCalls0.n.Load()
		bw := base.writes
		baseErr := make(chan error, 1)
		go func() { baseErr <- base.poll(ctx, time.Now()) }()
		runStart := time.Now()
		st, err := engine.Run(ctx, pair)
		if err != nil {
			return err
		}
		tableCalls := int(tableCalls0.n.Load() - before)
		if err := <-baseErr; err != nil {
			return err
		}
		tr := tickRecord{writes: st.Writes, lists: st.Pages, table: tableCalls, listedBy: runStart}
		ticks = append(ticks, tr)
		out.printf("%6.0f %8s %7d %10d %12d %15d\n", time.Since(loadStart).Seconds(), phase, tr.writes, tr.lists, tr.table, base.writes-bw)
		if !loadStopped.IsZero() && convergedAt.IsZero() && len(localstack.Differences(arm.Sessions(group, primary), arm.Sessions(group, secondary))) == 0 {
			convergedAt = time.Now()
		}
	}
	log := <-changes

	// Distinct sessions changed per tick, as the engine saw them: the changes made
	// between the start of one run and the next.
	loadTicks := ticks[:len(ticks)-6]
	idleTicks := ticks[len(ticks)-6:]
	distinct, writes := 0, 0
	prev := time.Time{}
	for _, tr := range loadTicks {
		set := map[string]bool{}
		for _, c := range log {
			if c.at.After(prev) && c.at.Before(tr.listedBy) {
				set[c.name] = true
			}
		}
		distinct += len(set)
		writes += tr.writes
		prev = tr.listedBy
	}
	idleWrites, idleLists, tableCalls := 0, 0, 0
	for _, tr := range idleTicks {
		idleWrites += tr.writes
		idleLists += tr.lists
	}
	for _, tr := range ticks {
		tableCalls += tr.table
	}
	var steadyWrites []time.Time
	for _, t := range arm.WriteTimes(group, secondary) {
		if t.After(loadStart) {
			steadyWrites = append(steadyWrites, t)
		}
	}
	maxRate := maxPerSecond(steadyWrites)

	res["hot_sessions"] = o.hot
	res["hot_changes"] = len(log)
	res["tick_s"] = o.tick.Seconds()
	res["write_budget_per_s"] = o.budget
	res["steady_writes"] = writes
	res["steady_distinct_changed_sessions"] = distinct
	res["steady_writes_per_changed_session"] = round(float64(writes)/math.Max(1, float64(distinct)), 3)
	res["idle_writes_per_tick"] = round(float64(idleWrites)/float64(len(idleTicks)), 2)
	res["idle_list_calls_per_tick"] = round(float64(idleLists)/float64(len(idleTicks)), 2)
	res["overlap_rescan_writes"] = idleWrites
	res["convergence_s_after_load_stops"] = round(convergedAt.Sub(loadStopped).Seconds(), 2)
	res["max_write_rate_per_s"] = maxRate
	// A token bucket of this rate and a burst of one admits at most rate + 1 writes in
	// a closed one-second window.
	res["write_budget_bound_per_s"] = o.budget + 1
	res["baseline_writes"] = base.writes
	res["baseline_writes_per_change"] = round(float64(base.writes)/float64(len(log)), 3)
	res["writes_per_change"] = round(float64(writes)/float64(len(log)), 3)
	res["writes_ratio_baseline_over_ours"] = round(float64(base.writes)/math.Max(1, float64(writes)), 2)
	res["table_transactions_per_tick"] = round(float64(tableCalls)/float64(len(ticks)), 2)
	return nil
}

// maxPerSecond is the most events in any window of one second.
func maxPerSecond(ts []time.Time) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi].Sub(ts[lo]) >= time.Second {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
