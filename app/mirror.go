package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"integration-dr/azure/datafactory"
	"integration-dr/azure/logic"
	"integration-dr/config"
	"integration-dr/drerr"
	"integration-dr/drift"
	"integration-dr/journal"
	"integration-dr/mirror"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// The kinds each adapter holds.
var (
	accountKinds = []drift.Kind{drift.Certificate, drift.Partner, drift.Schema, drift.Map, drift.Agreement, drift.BatchConfiguration}
	factoryKinds = []drift.Kind{drift.Pipeline, drift.Trigger}
	agentKinds   = []drift.Kind{drift.AgentJob}
)

// mirrorRunner builds the drift and mirror runner: both sides of every pair, the
// active side from the active-region record (integration-account pairs) or the
// failover group's roles (SSIS pairs), the mirrors' own journal, and the plans'
// journal a mirror stands aside for.
func mirrorRunner(cfg config.Config, mirrors journal.Store, plans mirror.PlanJournal, streams replication.Store, ssisOps *ssis.Runner,
	cred azcore.TokenCredential, armOpts *arm.ClientOptions, limits replication.Limits, log *slog.Logger) (*mirror.Runner, error) {
	pairs := map[string]mirror.Pair{}
	for _, p := range cfg.Pairs {
		side := func(id string) (mirror.Side, error) {
			a, err := logic.NewArtifacts(id, cred, armOpts)
			if err != nil {
				return nil, err
			}
			return mirror.Side{{Name: "integration account", Kinds: accountKinds, Source: a}}, nil
		}
		primary, err := side(p.Primary)
		if err != nil {
			return nil, wrap("pair "+p.Name+" primary artifacts", err)
		}
		secondary, err := side(p.Secondary)
		if err != nil {
			return nil, wrap("pair "+p.Name+" secondary artifacts", err)
		}
		pairs[p.Name] = mirror.Pair{Name: p.Name, Primary: primary, Secondary: secondary, Allow: p.Drift.Allow}
	}
	for _, p := range cfg.SSISPairs {
		sp := ssisOps.Reconciler.Pairs[p.Name]
		side := func(s config.SSISSide, e ssis.Endpoint) (mirror.Side, error) {
			f, err := datafactory.NewPipelines(s.DataFactory, cred, armOpts)
			if err != nil {
				return nil, err
			}
			// Each side runs its packages on its own runtime: a pipeline that names it
			// is the same pipeline on both sides.
			f.UseRuntime(s.IntegrationRuntime)
			out := mirror.Side{{Name: "data factory", Kinds: factoryKinds, Source: f}}
			// SQL Agent jobs are read where SSISDB's endpoint is configured: reported,
			// never written (their owners and credentials differ per instance).
			if src, ok := e.DB.(mirror.Source); ok && e.DB != nil {
				out = append(out, mirror.Part{Name: "SQL Agent", Kinds: agentKinds, Source: reportOnly{src}})
			}
			return out, nil
		}
		primary, err := side(p.Primary, sp.Sides[ssis.SidePrimary])
		if err != nil {
			return nil, wrap("SSIS pair "+p.Name+" primary artifacts", err)
		}
		secondary, err := side(p.Secondary, sp.Sides[ssis.SideSecondary])
		if err != nil {
			return nil, wrap("SSIS pair "+p.Name+" secondary artifacts", err)
		}
		pairs[p.Name] = mirror.Pair{Name: p.Name, Primary: primary, Secondary: secondary, Allow: p.Drift.Allow}
	}
	return &mirror.Runner{
		Journal: mirrors, Plans: plans, Pairs: pairs,
		Regions: regions{streams: streams, ssis: ssisOps.Reconciler.Pairs},
		Reads:   limits.Reads, Writes: limits.Writes, Log: log,
		ReportEvery: cfg.Engine.ReadinessEvery,
	}, nil
}

// reportOnly hides a source's other methods: what it lists is never written.
type reportOnly struct{ mirror.Source }

// regions says which side of a pair is active: the active-region record of an
// integration-account pair, the failover group's roles of an SSIS pair (read through
// both sides, which must agree).
type regions struct {
	streams replication.Store
	ssis    map[string]ssis.Pair
}

func (r regions) Active(ctx context.Context, pair string) (mirror.Active, error) {
	sp, ok := r.ssis[pair]
	if !ok {
		_, region, err := r.streams.Load(ctx, pair)
		if err != nil {
			return mirror.Active{}, err
		}
		return mirror.Active{Side: region.Active, Epoch: region.Epoch}, nil
	}
	var primary []ssis.Side
	for _, s := range []ssis.Side{ssis.SidePrimary, ssis.SideSecondary} {
		self, partner, err := sp.Sides[s].Group.Roles(ctx)
		if err != nil {
			return mirror.Active{}, fmt.Errorf("the failover group through the %s side: %w", s, err)
		}
		switch {
		case self == ssis.Primary && partner == ssis.Secondary:
			primary = append(primary, s)
		case self == ssis.Secondary && partner == ssis.Primary:
			primary = append(primary, s.Other())
		default:
			return mirror.Active{}, drerr.Errorf(drerr.Unavailable, "roles", "the failover group through the %s side reports %s and %s: not one primary and one secondary", s, self, partner)
		}
	}
	if primary[0] != primary[1] {
		return mirror.Active{}, drerr.Errorf(drerr.Unavailable, "roles", "the two sides of the failover group disagree on which is primary")
	}
	return mirror.Active{Side: replication.Region(primary[0])}, nil
}
