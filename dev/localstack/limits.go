package localstack

import (
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"integration-dr/dev/armstandin"
	"integration-dr/replication"
)

// TestTimeScale is the time scale the end-to-end tests run the stand-in at: it keeps
// ARM's bucket sizes and refills them this many times faster, and the tests' leases
// and ticks shrink by the same factor, so a run meets the limits a real one would, in
// less time.
const TestTimeScale = 20

// BudgetEnv is the handler's read and write budgets against the stand-in's buckets at
// scale, as the product's defaults are against ARM's: the same bursts, and refills 5%
// below ARM's, so that requests admitted on time but delayed unevenly on the way do
// not empty ARM's bucket before ours.
func BudgetEnv(scale float64) map[string]string {
	l := BudgetLimits(scale)
	f := func(v rate.Limit) string { return strconv.FormatFloat(float64(v), 'f', -1, 64) }
	return map[string]string{
		"DR_WRITE_BUDGET_PER_SECOND": f(l.Writes.Limit()),
		"DR_WRITE_BUDGET_BURST":      strconv.Itoa(l.Writes.Burst()),
		"DR_READ_BUDGET_PER_SECOND":  f(l.Reads.Limit()),
		"DR_READ_BUDGET_BURST":       strconv.Itoa(l.Reads.Burst()),
	}
}

// BudgetLimits is BudgetEnv for an engine run in-process.
func BudgetLimits(scale float64) replication.Limits {
	arm := armstandin.ARMLimits(scale)
	return replication.Limits{
		Reads:  rate.NewLimiter(rate.Limit(0.95*arm.ReadRefillPerSecond*scale), arm.ReadBucket),
		Writes: rate.NewLimiter(rate.Limit(0.95*arm.WriteRefillPerSecond*scale), arm.WriteBucket),
	}
}

// WriteBound is the least time ARM's write bucket, refilled scale times faster, lets
// any client make this many writes, starting full.
func WriteBound(writes int, scale float64) time.Duration {
	arm := armstandin.ARMLimits(scale)
	over := max(0, writes-arm.WriteBucket)
	return time.Duration(float64(over) / (arm.WriteRefillPerSecond * scale) * float64(time.Second))
}
