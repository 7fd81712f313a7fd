package tables_test

import (
	"context"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/journal"
)

// A mirror's prune is kept with its operation: a resumed mirror deletes only if asked.
func TestAMirrorsPruneRoundTrips(t *testing.T) {
	f := openJournal(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, prune := range []bool{true, false} {
		id := "mirror-no-prune"
		if prune {
			id = "mirror-prune"
		}
		op := journal.New(command.Command{ID: id, Action: command.Mirror, Pair: f.pair("mirror-pair"), Prune: prune}, journal.Source{RequestedBy: "ops"}, now, now)
		if _, err := f.j.Create(ctx, op); err != nil {
			t.Fatal(err)
		}
		got, err := f.j.Get(ctx, op.Pair, id)
		if err != nil || got.Prune != prune || got.Action != command.Mirror {
			t.Errorf("prune %v: read back %+v, %v", prune, got, err)
		}
	}
}
