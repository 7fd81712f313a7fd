package localstack

import (
	"strconv"
	"time"

	"integration-dr/dev/armstandin"
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
	arm := armstandin.ARMLimits(scale)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return map[string]string{
		"DR_WRITE_BUDGET_PER_SECOND": f(0.95 * arm.WriteRefillPerSecond * scale),
		"DR_WRITE_BUDGET_BURST":      strconv.Itoa(arm.WriteBucket),
		"DR_READ_BUDGET_PER_SECOND":  f(0.95 * arm.ReadRefillPerSecond * scale),
		"DR_READ_BUDGET_BURST":       strconv.Itoa(arm.ReadBucket),
	}
}

// WriteBound is the least time ARM's write bucket, refilled scale times faster, lets
// any client make this many writes, starting full.
func WriteBound(writes int, scale float64) time.Duration {
	arm := armstandin.ARMLimits(scale)
	over := max(0, writes-arm.WriteBucket)
	return time.Duration(float64(over) / (arm.WriteRefillPerSecond * scale) * float64(time.Second))
}
