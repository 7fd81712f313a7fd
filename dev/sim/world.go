package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal/journaltest"
	"integration-dr/mssql"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/ssis"
	"integration-dr/ssis/ssistest"
)

// Names of the world's two pairs.
const (
	IAPair   = "ia-pair"
	SSISPair = "ssis-pair"
)

var t0 = time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)

// levels a simulated agreement sends on.
var sendLevels = []failover.Level{failover.ICN, failover.GCN, failover.TSCN, failover.Ack}

// agreement is one simulated agreement: its definition (the same on both sides) and
// its partner's own interchange counter.
type agreement struct {
	failover.Agreement
	partnerNext int64
	partnerSent []int64
}

// message is one Service Bus message carrying a command.
type message struct {
	id         string
	cmd        command.Command
	deliveries int
}

// crashPlan arms crashes for the event under way: a write call whose hash falls in
// 1/odds kills the attempt's process.
type crashPlan struct {
	salt int
	odds int
}

// World is one seed's simulated world.
type World struct {
	seed  int64
	opts  Options
	rng   *rand.Rand // the scheduler's: used only between calls, on one goroutine
	mu    sync.Mutex
	now   time.Time
	step  int
	flaky int // percent of calls an answering side fails with a 5xx

	counters map[string]int
	killed   atomic.Bool
	crash    *crashPlan
	hook     *hook
	nested   bool
	runIDs   int
	msgIDs   int
	cmdIDs   int

	regions    map[replication.Region]*region
	agreements []*agreement
	states     []failover.AgreementState

	store   *checkpoints
	journal *journalStore
	engine  *replication.Engine
	runner  *failover.Runner
	pair    failover.Pair
	policy  failover.Policy

	ssisWorld *ssistest.World
	// ssisFence: a region was unreachable since an SSIS pass last saw every region
	// answering and left nothing to fix; what its side runs may overlap the other's
	// until a pass fences it (the SSIS counterpart of a pending fence).
	ssisFence map[replication.Region]bool
	// lastSent is the number each side last sent on each session (side|session).
	lastSent map[string]int64
	// ssisForced: a forced SSIS operation reached its reconcile step since an SSIS
	// pass last saw every region answering and left nothing to fix. A forced
	// operation's reconcile goes past stop-first at the operator's word when the
	// standby answers but does not stop (journaled, as the design allows), so what the
	// serving side runs may overlap the standby's until a pass fences it, as after an
	// unreachable region. ssisForcedSeen lists the operations counted, each once.
	ssisForced     bool
	ssisForcedSeen map[string]bool
	ssisRec        *ssis.Reconciler
	ssisRunner     *ssis.Runner

	queue     []*message
	completed []*message
	commands  []command.Command // every command issued, for duplicates and --direct

	// weights of the event kinds for this seed.
	weights []int

	ledger
	trace      []string
	events     int
	violations []Violation
	pending    []Violation
	counts     map[string]int
	// checkedWrites is the journal's write count at the last check.
	checkedWrites int
	// unreachableSends bounds what a side the app cannot reach sends, per session.
	unreachableSends map[string]int
}

// hook runs a nested event at the countdown-th single-threaded call site of the
// event under way: the interleaving of two activities.
type hook struct {
	countdown int
	ev        Event
}

func (w *World) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// advance moves the world's clock and every service clock. Only ever between calls or
// at a single-threaded call site.
func (w *World) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
	for _, r := range w.regionList() {
		r.acct.Advance(d)
	}
}

func (w *World) regionList() []*region {
	return []*region{w.regions[replication.Primary], w.regions[replication.Secondary]}
}

func (w *World) kill() { w.killed.Store(true) }

// interleave runs the armed nested event at this call site once its countdown ends.
func (w *World) interleave(site string) {
	if w.hook == nil || w.nested {
		return
	}
	w.hook.countdown--
	if w.hook.countdown > 0 {
		return
	}
	ev := w.hook.ev
	w.hook = nil
	// The nested event is another process: it has not crashed, and does not crash.
	killed, crash := w.killed.Load(), w.crash
	w.killed.Store(false)
	w.crash = nil
	w.nested = true
	out := w.apply(ev)
	w.nested = false
	w.killed.Store(killed)
	w.crash = crash
	w.logf("  ~ at %s: %s -> %s", site, ev, out)
	w.check("nested " + ev.String())
}

// noteWrite is called for every session write the app makes.
func (w *World) noteWrite(r *region, name string) {
	for _, a := range w.agreements {
		for _, l := range sendLevels {
			if failover.SessionName(a.Name, l) == name {
				off := !w.intake(r, a.Protocol)
				w.mu.Lock() // a plan's bumps write concurrently
				r.writtenOff[name] = off
				w.mu.Unlock()
				return
			}
		}
	}
}

func newWorld(seed int64, opts Options) *World {
	rng := rand.New(rand.NewSource(seed))
	w := &World{
		seed: seed, opts: opts, rng: rng, now: t0,
		counters: map[string]int{}, regions: map[replication.Region]*region{},
		counts: map[string]int{}, unreachableSends: map[string]int{}, lastSent: map[string]int64{},
		flaky: []int{0, 0, 2, 5}[rng.Intn(4)],
	}
	w.ledger.init()
	for _, name := range []replication.Region{replication.Primary, replication.Secondary} {
		offset := time.Duration(rng.Intn(7)-3) * time.Second
		if rng.Intn(4) == 0 {
			offset = time.Duration(rng.Intn(120)-60) * time.Second
		}
		r := &region{w: w, name: name, offset: offset, acct: replicationtest.NewAccount(t0.Add(offset)), lastGen: map[string]int64{}, lastStamp: map[string]time.Time{}, writtenOff: map[string]bool{}}
		r.acct.PageSize = 4 + rng.Intn(8)
		w.regions[name] = r
	}
	// Agreements: X12 and EDIFACT, wide and narrow ranges, rollover on and off.
	n := 2 + rng.Intn(3)
	for i := range n {
		proto := failover.X12
		if rng.Intn(2) == 0 {
			proto = failover.EDIFACT
		}
		a := &agreement{Agreement: failover.Agreement{Name: fmt.Sprintf("%s%d", map[failover.Protocol]string{failover.X12: "X", failover.EDIFACT: "E"}[proto], i), Protocol: proto, Bounds: map[failover.Level]failover.Bounds{}}}
		for _, l := range sendLevels {
			b := failover.Bounds{Lower: 1, Upper: 999_999_999, Rollover: rng.Intn(2) == 0}
			if proto == failover.EDIFACT {
				b.Upper = 99_999_999
			}
			if rng.Intn(3) == 0 {
				b.Lower = int64(1 + rng.Intn(50))
				b.Upper = b.Lower + int64(60+rng.Intn(400))
			}
			a.Bounds[l] = b
		}
		a.partnerNext = 1 + int64(rng.Intn(1000))
		w.agreements = append(w.agreements, a)
		w.states = append(w.states, failover.AgreementState{Agreement: a.Agreement, DuplicateChecks: true})
	}
	w.policy = failover.Policy{MinBump: int64(10 + rng.Intn(40)), BlockSize: int64(rng.Intn(5)), Safety: 30 * time.Second}
	// Workflows: one intake per protocol per region; the primary's run.
	for _, r := range w.regionList() {
		for _, p := range []failover.Protocol{failover.X12, failover.EDIFACT} {
			r.flows = append(r.flows, &workflow{r: r, name: fmt.Sprintf("%s-%s-intake", r.name, p), protocol: p, enabled: r.name == replication.Primary})
		}
	}
	// The primary's generated numbers have a history.
	p := w.regions[replication.Primary]
	for _, a := range w.agreements {
		for _, l := range sendLevels {
			b := a.Bounds[l]
			if rng.Intn(4) == 0 {
				continue // never sent yet
			}
			num := b.Lower + int64(rng.Intn(int(min(b.Upper-b.Lower, 200))))
			p.acct.Set(failover.SessionName(a.Name, l), content(pad(num, a.Protocol), p.acct.Now(), a.Protocol))
		}
	}

	w.journal = &journalStore{w: w, inner: journaltest.New()}
	w.journal.inner.Now = w.Now
	w.store = &checkpoints{w: w, inner: replicationtest.NewStore()}
	log := slog.New(slog.DiscardHandler)
	w.engine = replication.NewEngine(w.store, replication.Limits{}, log, replication.Options{
		Now: w.Now, NewRunID: func() string { w.runIDs++; return fmt.Sprintf("run-%d", w.runIDs) },
		Lease: 2 * time.Minute, Workers: 1, BatchSize: 3 + rng.Intn(5), ReconcileEvery: time.Duration(20+rng.Intn(60)) * time.Minute,
	})
	side := func(r *region) failover.Side {
		var flows []failover.Workflow
		for _, f := range r.flows {
			flows = append(flows, f)
		}
		return failover.Side{Sessions: account{r}, Agreements: agreements{r: r, list: w.states}, Workflows: flows}
	}
	w.pair = failover.Pair{
		Name:        IAPair,
		Replication: replication.Pair{Name: IAPair, Primary: account{w.regions[replication.Primary]}, Secondary: account{w.regions[replication.Secondary]}, Overlap: time.Minute},
		Primary:     side(w.regions[replication.Primary]), Secondary: side(w.regions[replication.Secondary]),
		Policy: w.policy, Settle: 15 * time.Second, Cooldown: []time.Duration{0, 10 * time.Minute}[rng.Intn(2)],
		RequireDuplicateChecks: true,
	}
	w.runner = &failover.Runner{
		Journal: w.journal, Streams: w.store, CatchUp: w.engine, Pairs: map[string]failover.Pair{IAPair: w.pair},
		Log: log, Now: w.Now, ClockSkew: 5 * time.Second, Workers: 1, SnapshotEvery: 10 * time.Minute,
	}

	if !opts.NoSSIS {
		w.newSSIS(rng)
	}
	w.weights = make([]int, len(kinds))
	for i, k := range kinds {
		w.weights[i] = k.weight * (1 + rng.Intn(4))
		if k.weight > 0 && rng.Intn(6) == 0 {
			w.weights[i] = k.weight / 2 // a seed that rarely does this
		}
	}
	return w
}

func (w *World) newSSIS(rng *rand.Rand) {
	sw := ssistest.NewWorld()
	sw.PutTrigger(ssis.SidePrimary, "nightly", ssis.TriggerStarted)
	sw.PutTrigger(ssis.SideSecondary, "nightly", ssis.TriggerStopped)
	sw.PutSchedule(ssis.SidePrimary, 7, "load", true)
	sw.PutSchedule(ssis.SideSecondary, 7, "load", false)
	policy := ssis.StandbyRunning
	if rng.Intn(2) == 0 {
		policy = ssis.StandbyStopped
		sw.SetIR(ssis.SideSecondary, ssis.IRStopped)
	}
	w.ssisWorld = sw
	ep := func(s ssis.Side, r *region) ssis.Endpoint {
		return ssis.Endpoint{
			Group: ssisGroup{r, sw.Group(s)}, DB: ssisDB{r, sw.DB(s)}, Factory: ssisFactory{r, sw.Factory(s)},
			IR: "ir-" + string(s), Triggers: []string{"nightly"}, ScheduleIDs: []int{7},
		}
	}
	w.ssisRec = &ssis.Reconciler{
		Store: ssistest.NewStore(), Journal: w.journal, Now: w.Now, Log: slog.New(slog.DiscardHandler),
		Pairs: map[string]ssis.Pair{SSISPair: {Name: SSISPair, Kind: mssql.ManagedInstance, Standby: policy, Sides: map[ssis.Side]ssis.Endpoint{
			ssis.SidePrimary: ep(ssis.SidePrimary, w.regions[replication.Primary]), ssis.SideSecondary: ep(ssis.SideSecondary, w.regions[replication.Secondary]),
		}}},
	}
	// PassWait: the runner waits for a reconcile pass on the real clock; here nothing
	// runs meanwhile, so it asks at once to be redelivered.
	w.ssisRunner = &ssis.Runner{Reconciler: w.ssisRec, PassWait: time.Nanosecond}
}

// pad writes a number as the connector stores it: X12 nine digits zero padded.
func pad(n int64, p failover.Protocol) string {
	if p == failover.X12 {
		return fmt.Sprintf("%09d", n)
	}
	return fmt.Sprintf("%d", n)
}

func (w *World) intake(r *region, p failover.Protocol) bool {
	for _, f := range r.flows {
		if f.protocol == p && f.on() {
			return true
		}
	}
	return false
}

// active reads the active-region record as it stands.
func (w *World) active() replication.ActiveRegion {
	_, ar, _ := w.store.inner.Load(context.Background(), IAPair)
	return ar
}

func (w *World) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	w.trace = append(w.trace, line)
	if w.opts.Verbose != nil {
		fmt.Fprintln(w.opts.Verbose, line)
	}
}
