package sim_test

import (
	"testing"

	"integration-dr/dev/sim"
)

func BenchmarkSeed(b *testing.B) {
	for i := range b.N {
		sim.Run(int64(i%50+1), sim.Options{})
	}
}
