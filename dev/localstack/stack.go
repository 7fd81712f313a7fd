package localstack

import (
	"context"
	"os"
	"time"

	"integration-dr/dev/armstandin"
)

// Stack is a local Azure for the demo and the benchmark: a work directory, Azurite,
// and the ARM stand-in with the given latency.
type Stack struct {
	Dir     string
	Azurite *Azurite
	ARM     *armstandin.Server
	ARMURL  string
}

// Up starts a Stack whose stand-in enforces ARM's buckets at time scale; Close stops
// it. The stand-in stops with ctx.
func Up(ctx context.Context, name string, latency time.Duration, scale float64) (*Stack, error) {
	dir, err := os.MkdirTemp("", name)
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir}
	if s.Azurite, err = StartAzurite(ctx, dir); err != nil {
		s.Close()
		return nil, err
	}
	s.ARM = armstandin.New()
	if s.ARMURL, err = s.ARM.Start(ctx, 0); err != nil {
		s.Close()
		return nil, err
	}
	s.ARM.SetFaults(armstandin.Faults{Latency: latency})
	s.ARM.SetLimits(armstandin.ARMLimits(scale))
	return s, nil
}

// Close stops Azurite and removes the work directory.
func (s *Stack) Close() {
	if s.Azurite != nil {
		s.Azurite.Stop()
	}
	_ = os.RemoveAll(s.Dir)
}
