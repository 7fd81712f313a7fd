package replication_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
)

// failingLoads is a checkpoint store whose named pairs cannot be read.
type failingLoads struct {
	*replicationtest.Store
	bad map[string]error
}

func (s failingLoads) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	if err := s.bad[pair]; err != nil {
		return replication.Checkpoint{}, replication.ActiveRegion{}, err
	}
	return s.Store.Load(ctx, pair)
}

// A pair whose checkpoint cannot be read does not hide the others: Status returns
// what it could read, in the pairs' order, and names each pair it could not.
func TestStatusReturnsTheStreamsItCouldReadAndNamesTheOthers(t *testing.T) {
	errBad := errors.New("decode checkpoint: bad entity")
	store := failingLoads{Store: replicationtest.NewStore(), bad: map[string]error{"b": errBad, "d": errors.New("query failed")}}
	engine := replication.NewEngine(store, replication.Limits{}, discard, replication.Options{})
	svc := &replication.Service{Engine: engine, Pairs: []replication.Pair{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}}

	st, err := svc.Status(context.Background())
	if len(st) != 2 || st[0].Pair != "a" || st[1].Pair != "c" {
		t.Errorf("streams read: %+v, want a and c", st)
	}
	if !errors.Is(err, errBad) {
		t.Fatalf("err = %v, does not wrap the bad pair's error", err)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 2 {
		t.Fatalf("err = %v, want one error per unreadable pair", err)
	}
	for i, pair := range []string{"b", "d"} {
		if !strings.HasPrefix(joined.Unwrap()[i].Error(), "pair "+pair+": ") {
			t.Errorf("error %d = %q, does not name pair %s", i, joined.Unwrap()[i], pair)
		}
	}
}
