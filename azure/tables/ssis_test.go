package tables_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"integration-dr/azure/tables"
	"integration-dr/drerr"
	"integration-dr/ssis"
)

func TestSSISStateRoundTripsAndStaleSavesLose(t *testing.T) {
	f := openJournal(t)
	s := tables.OpenSSIS(f.j)
	ctx := context.Background()
	pair := fmt.Sprintf("ssis-%d", f.run)
	st, err := s.Load(ctx, pair)
	if err != nil || st.ETag != "" || st.Pair != pair {
		t.Fatalf("a pair never saved: %+v, %v", st, err)
	}
	began := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	st.Pending = map[string]ssis.Pending{"ir|secondary": {Op: "start", Token: strings.Repeat("t", 3000), Began: began}}
	st.Serving = ssis.SideSecondary
	st.Last = ssis.Report{Pair: pair, Changes: []string{"secondary: runtime ir: start begun"}, Roles: map[ssis.Side]ssis.Role{ssis.SidePrimary: ssis.Secondary, ssis.SideSecondary: ssis.Primary}}
	saved, err := s.Save(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, pair)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending["ir|secondary"].Token != st.Pending["ir|secondary"].Token || !got.Pending["ir|secondary"].Began.Equal(began) || got.Serving != ssis.SideSecondary || got.Last.Roles[ssis.SideSecondary] != ssis.Primary {
		t.Fatalf("state did not round-trip: %+v", got)
	}
	// Two passes read the same version; the second to save loses.
	if _, err := s.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, saved); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("a save from a stale read: %v, want a conflict", err)
	}
	// Creating over an existing state loses too.
	if _, err := s.Save(ctx, ssis.State{Pair: pair}); !drerr.Is(err, drerr.Conflict) {
		t.Fatalf("a create over a stored state: %v, want a conflict", err)
	}
}

func TestSSISStateWithAHugeReportIsCutNotRefused(t *testing.T) {
	f := openJournal(t)
	s := tables.OpenSSIS(f.j)
	pair := fmt.Sprintf("ssis-big-%d", f.run)
	st := ssis.State{Pair: pair, Pending: map[string]ssis.Pending{"ir|primary": {Op: "start", Token: "keep-me"}}}
	for i := range 5000 {
		st.Last.Changes = append(st.Last.Changes, fmt.Sprintf("primary: trigger adf/trigger-%04d: start (was Stopped)", i))
	}
	if _, err := s.Save(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(context.Background(), pair)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending["ir|primary"].Token != "keep-me" || len(got.Last.Changes) == 0 || len(got.Last.Changes) >= 5000 {
		t.Fatalf("pending %+v, %d changes kept", got.Pending, len(got.Last.Changes))
	}
}
