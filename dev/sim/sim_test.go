package sim_test

import (
	"flag"

	"integration-dr/failover"
	"integration-dr/replication"
	"math/rand"
	"testing"
	"time"

	"integration-dr/dev/sim"
)

var (
	simSeeds  = flag.Int("sim.seeds", 300, "random seeds TestSimulation runs beside the fixed ones")
	simSeed   = flag.Int64("sim.seed", 0, "the first random seed (0: from the clock, printed)")
	simStrict = flag.Bool("sim.strict", false, "fail TestSimulation on a broken invariant in a random seed too (make sim fails on any)")
)

// fixedSeeds are seeds that once broke an invariant, each kept so that its fix stays
// fixed; beside them the test runs seeds 1 to fixedRange, all of which hold.
var fixedSeeds = []int64{2, 4, 13, 17, 22, 23, 40, 64, 68, 109, 131, 200, 219, 307, 384, 693, 806, 2015, 2174, 2827, 3567, 4286, 4414, 4782, 4889, 6298, 14346, 17472, 5450, 7021, 7969, 11582, 13929, 19578, 26410, 55816, 14554, 48982, 8234, 17546, 27503, 32195, 32714, 59556, 89464, 200036, 1723, 3943, 7453, 7695, 303072, 308471, 516185}

const fixedRange = 1000

func TestSimulation(t *testing.T) {
	first := *simSeed
	if first == 0 {
		first = time.Now().UnixNano() % 1_000_000_000
	}
	seeds := append([]int64(nil), fixedSeeds...)
	for seed := int64(1); seed <= fixedRange; seed++ {
		seeds = append(seeds, seed)
	}
	fixed := len(seeds)
	rng := rand.New(rand.NewSource(first))
	for range *simSeeds {
		seeds = append(seeds, 1+rng.Int63n(1<<40))
	}
	t.Logf("%d fixed seeds; %d random seeds drawn from -sim.seed=%d", fixed, len(seeds)-fixed, first)
	broken := map[string][]int64{}
	for i, seed := range seeds {
		r := sim.Run(seed, sim.Options{})
		for _, v := range r.Violations {
			broken[v.Invariant] = append(broken[v.Invariant], seed)
			// A fixed seed must hold. A random one fails the test with -sim.strict
			// (as make sim does); without it, it is reported with its replay line:
			// the rare seeds still open are listed in the README's Guarantees.
			report := t.Logf
			if i < fixed || *simStrict {
				report = t.Errorf
			}
			report("seed %d (replay: go run ./dev/sim/cmd/sim -seed %d -v): %s", seed, seed, v)
		}
	}
	for inv, s := range broken {
		t.Logf("%s broken in %d of %d seeds, e.g. %v", inv, len(s), len(seeds), s[:min(5, len(s))])
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	for _, seed := range []int64{1, 17, 12345} {
		a := sim.Run(seed, sim.Options{})
		b := sim.Run(seed, sim.Options{})
		if a.TraceHash != b.TraceHash || a.Events != b.Events {
			t.Errorf("seed %d: trace %x (%d events) then %x (%d events)", seed, a.TraceHash, a.Events, b.TraceHash, b.Events)
		}
	}
}

func violated(r sim.Result, inv string) *sim.Violation {
	for i, v := range r.Violations {
		if v.Invariant == inv {
			return &r.Violations[i]
		}
	}
	return nil
}

func TestQuietWorldBreaksNothing(t *testing.T) {
	r := sim.Run(7, sim.Options{Script: []sim.Event{
		{Kind: sim.Send, Side: "primary", Agreement: 0},
		{Kind: sim.Replicate},
		{Kind: sim.Send, Side: "primary", Agreement: 1},
		{Kind: sim.Receive, Side: "primary", Agreement: 0},
		{Kind: sim.Replicate},
		{Kind: sim.Receive, Side: "primary", Agreement: 0, Resend: true},
	}})
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
}

// holds fails the test if r broke inv. A scenario the product does not pass yet names
// what it waits for in knownBroken: it is then skipped with its trace, unless
// -sim.strict asks for the failure.
func holds(t *testing.T, r sim.Result, inv, knownBroken string) {
	t.Helper()
	v := violated(r, inv)
	switch {
	case v == nil:
	case knownBroken != "" && !*simStrict:
		t.Skipf("known broken until %s:\n%s", knownBroken, v)
	default:
		t.Errorf("%s", v)
	}
}

// sendBoth has both sides' connectors send on every level of agreement a, n times.
func sendBoth(a, n int) []sim.Event {
	var out []sim.Event
	for range n {
		for _, side := range []string{"primary", "secondary"} {
			for _, l := range []int{0, 1, 2, 6} {
				out = append(out, sim.Event{Kind: sim.Send, Side: replicationRegion(side), Agreement: a, Level: level(l)})
			}
		}
	}
	return out
}

func TestARefusingOldSideIsNotDown(t *testing.T) {
	script := []sim.Event{
		{Kind: sim.Replicate},
		{Kind: sim.SetMode, Side: "primary", Mode: sim.Refusing},
		{Kind: sim.Direct, Action: "failover"},
		{Kind: sim.Tick, Dur: time.Minute},
		{Kind: sim.Timer},
	}
	script = append(script, sendBoth(0, 80)...)
	r := sim.Run(11, sim.Options{Script: script, NoQuiesce: true, NoSSIS: true})
	holds(t, r, sim.InvNoDuplicateSent, "")
}

func TestASlowOldSidePassedByStaysWithinTheMargin(t *testing.T) {
	script := []sim.Event{
		{Kind: sim.Replicate},
		{Kind: sim.SetMode, Side: "primary", Mode: sim.Unreachable},
		{Kind: sim.Direct, Action: "failover"},
		{Kind: sim.Tick, Dur: time.Minute},
		{Kind: sim.Timer},
	}
	script = append(script, sendBoth(1, 8)...)
	script = append(script, sim.Event{Kind: sim.SetMode, Side: "primary", Mode: sim.Answering}, sim.Event{Kind: sim.Timer})
	script = append(script, sendBoth(1, 20)...)
	r := sim.Run(12, sim.Options{Script: script, NoSSIS: true})
	holds(t, r, sim.InvNoDuplicateSent, "")
	holds(t, r, sim.InvOperationsEnd, "")
}

func TestANumberReceivedByTheOldSideInTheWindowIsMergedBack(t *testing.T) {
	script := []sim.Event{
		{Kind: sim.Replicate},
		{Kind: sim.SetMode, Side: "primary", Mode: sim.Unreachable},
		{Kind: sim.Direct, Action: "failover"},
		{Kind: sim.Tick, Dur: time.Minute},
		{Kind: sim.Timer},
		// Down for the app, but its partners still reach it.
		{Kind: sim.Receive, Side: "primary", Agreement: 0},
		{Kind: sim.SetMode, Side: "primary", Mode: sim.Answering},
		{Kind: sim.Timer},
		{Kind: sim.Replicate}, {Kind: sim.Replicate}, {Kind: sim.Replicate},
		// The partner resends it, to the side now active.
		{Kind: sim.Receive, Side: "secondary", Agreement: 0, Resend: true},
	}
	r := sim.Run(13, sim.Options{Script: script, NoQuiesce: true, NoSSIS: true})
	holds(t, r, sim.InvNoReceivedLost, "")
}

func TestAStandbyThatAnswersBadlyKeepsTheOtherSidesTriggersStopped(t *testing.T) {
	script := []sim.Event{
		{Kind: sim.GroupFlip},
		{Kind: sim.SetMode, Side: "primary", Mode: sim.Erroring},
		{Kind: sim.SSISRecon}, {Kind: sim.SSISRecon}, {Kind: sim.SSISRecon},
	}
	r := sim.Run(14, sim.Options{Script: script, NoQuiesce: true})
	holds(t, r, sim.InvSSISSingleSide, "")
}

func replicationRegion(s string) replication.Region { return replication.Region(s) }
func level(l int) failover.Level                    { return failover.Level(l) }
