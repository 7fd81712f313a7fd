package replication

import (
	"context"
	"errors"
	"fmt"
)

// Service runs the engine over every configured pair.
type Service struct {
	Engine *Engine
	Pairs  []Pair
}

// ReplicateAll runs one pass per pair, in order. A failing pair does not stop the
// others; all failures come back joined.
func (s *Service) ReplicateAll(ctx context.Context) ([]Stats, error) {
	var out []Stats
	var errs []error
	for _, p := range s.Pairs {
		st, err := s.Engine.Run(ctx, p)
		out = append(out, st)
		if err != nil {
			errs = append(errs, fmt.Errorf("pair %s: %w", p.Name, err))
		}
	}
	return out, errors.Join(errs...)
}
