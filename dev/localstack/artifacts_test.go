package localstack_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"integration-dr/azure/auth"
	"integration-dr/azure/datafactory"
	"integration-dr/azure/logic"
	"integration-dr/dev/localstack"
	"integration-dr/dev/sqlstandin"
	"integration-dr/drift"
	"integration-dr/mssql"
)

// diffs is what an operator reads of a comparison: "change kind name".
func diffs(r drift.Result) []string {
	var out []string
	for _, d := range r.Differences {
		out = append(out, string(d.Change)+" "+string(d.Kind)+" "+d.Name)
	}
	return out
}

func TestSeededSidesMatchUntilTheDemoDrifts(t *testing.T) {
	srv, cfg := standIn(t)
	cred, opts, err := auth.ARM(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	sql := sqlstandin.New()
	sqlURL, err := sql.Start(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	localstack.Seed(srv, 3, time.Now())
	if err := localstack.SeedArtifacts(srv); err != nil {
		t.Fatal(err)
	}
	if err := localstack.SeedSSIS(srv, sql, "running"); err != nil {
		t.Fatal(err)
	}
	if err := localstack.SeedSSISArtifacts(srv, sql); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// read reads both sides of the B2B pair, the SSIS factories and the instances.
	read := func() (b2b, ssis [2][]drift.Artifact) {
		t.Helper()
		for i, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
			a, err := logic.NewArtifacts(localstack.AccountID(side[0], side[1]), cred, opts)
			if err != nil {
				t.Fatal(err)
			}
			if b2b[i], err = a.Artifacts(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i, s := range localstack.SSISSides {
			p, err := datafactory.NewPipelines(s.FactoryID(), cred, opts)
			if err != nil {
				t.Fatal(err)
			}
			if ssis[i], err = p.UseRuntime(s.IR).Artifacts(ctx); err != nil {
				t.Fatal(err)
			}
			c, err := sqlstandin.NewClient(sqlURL, s.Endpoint, mssql.ManagedInstance)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := c.Artifacts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ssis[i] = append(ssis[i], jobs...)
		}
		return b2b, ssis
	}

	b2b, ssis := read()
	kinds := map[drift.Kind]int{}
	for _, a := range b2b[0] {
		kinds[a.Kind]++
	}
	if kinds[drift.Partner] != 2+3 || kinds[drift.Schema] != 2 || kinds[drift.Map] != 1 || kinds[drift.Certificate] != 1 || kinds[drift.BatchConfiguration] != 1 || kinds[drift.Agreement] != 3 {
		t.Errorf("primary holds %v", kinds)
	}
	if got := diffs(drift.Compare(b2b[0], b2b[1], nil, false)); len(got) != 0 {
		t.Errorf("seeded B2B sides differ: %q", got)
	}
	if got := diffs(drift.Compare(ssis[0], ssis[1], nil, false)); len(got) != 0 {
		t.Errorf("seeded SSIS sides differ: %q", got)
	}
	running := func(arts []drift.Artifact) []string {
		var out []string
		for _, a := range arts {
			if a.Running {
				out = append(out, string(a.Kind)+" "+a.Name)
			}
		}
		return out
	}
	if got, want := running(ssis[0]), []string{"trigger " + localstack.SSISTrigger, "agentJob " + localstack.SSISAgentJob}; !slices.Equal(got, want) {
		t.Errorf("running on the primary: %q, want %q", got, want)
	}
	if got := running(ssis[1]); len(got) != 0 {
		t.Errorf("running on the secondary: %q", got)
	}

	if err := localstack.MakeDrift(srv); err != nil {
		t.Fatal(err)
	}
	b2b, ssis = read()
	if got, want := diffs(drift.Compare(b2b[0], b2b[1], nil, false)), []string{"create map " + localstack.DriftMap}; !slices.Equal(got, want) {
		t.Errorf("B2B drift %q, want %q", got, want)
	}
	if got, want := diffs(drift.Compare(ssis[0], ssis[1], nil, false)), []string{"create trigger " + localstack.DriftTrigger}; !slices.Equal(got, want) {
		t.Errorf("SSIS drift %q, want %q", got, want)
	}
}
