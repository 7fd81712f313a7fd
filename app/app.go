// Package app builds the application from its configuration: the Azure adapters, the
// replication engine, the runners and the handler. The handler binary and drctl build
// the same app, so that drctl --direct runs exactly what RunCommand would.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/time/rate"

	"integration-dr/azure/auth"
	"integration-dr/azure/logic"
	"integration-dr/azure/tables"
	"integration-dr/config"
	"integration-dr/failover"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/mirror"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/session"
	"integration-dr/ssis"
)

// EnvSQLStandin points SSISDB's statements at a local stand-in (builds tagged standin only).
const EnvSQLStandin = "DR_SQL_STANDIN"

// App is everything the configuration builds: the stores, the replication service,
// the runners of both kinds of pair, and the handler in front of them. The handler
// binary serves Handler; drctl uses the rest in-process.
type App struct {
	Config      config.Config
	Handler     *handlers.Handler
	Checkpoints *tables.Store
	Journal     *tables.Journal
	Engine      *replication.Engine
	Streams     *replication.Service
	Failover    *failover.Runner
	SSIS        *ssis.Runner
	// Mirror runs drift and mirror commands; Mirrors is its journal, apart from the
	// plans' (see mirror.go).
	Mirror  *mirror.Runner
	Mirrors journal.Store
	// Operations runs a command with the runner that owns its pair.
	Operations handlers.ByPair
}

// Build builds the app from its configuration: adapters, engine, runners, handler.
// Nothing is changed in Azure; Table Storage's table is created if missing.
func Build(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger) (*App, error) {
	return build(ctx, cfg, getenv, log, false)
}

// BuildReadOnly builds the same app for reading its state (status, journal,
// readiness, checkpoints): it creates no table, so that an operator whose only role on
// the storage account is Storage Table Data Reader can use it. A missing table reads
// as no state yet. What the app then does is the caller's to keep to reads.
func BuildReadOnly(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger) (*App, error) {
	return build(ctx, cfg, getenv, log, true)
}

func build(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger, readOnly bool) (*App, error) {
	open, err := sqlOpener(getenv, cfg.Azure.ClientID)
	if err != nil {
		return nil, err
	}
	cred, armOpts, err := auth.ARM(cfg.Azure, cfg.Engine.Workers)
	if err != nil {
		return nil, wrap("credential", err)
	}
	tableOpts := &aztables.ClientOptions{ClientOptions: policy.ClientOptions{Retry: auth.Retry()}}
	auth.Policies(&tableOpts.ClientOptions)
	svc, err := tables.NewServiceClient(cfg.State.ConnectionString, cfg.State.TableServiceURL, cred, tableOpts)
	if err != nil {
		return nil, wrap("table storage", err)
	}
	var (
		store   *tables.Store
		jrnl    *tables.Journal
		mirrors *tables.Journal
	)
	if readOnly {
		store, jrnl = tables.Attach(svc, cfg.State.Table), tables.AttachJournal(svc, cfg.State.Table)
		mirrors = tables.AttachJournal(svc, cfg.State.MirrorTable())
		pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := store.Ping(pingCtx); err != nil {
			return nil, err
		}
	} else {
		openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if store, err = tables.Open(openCtx, svc, cfg.State.Table); err != nil {
			return nil, err
		}
		if jrnl, err = tables.OpenJournal(openCtx, svc, cfg.State.Table); err != nil {
			return nil, err
		}
		if mirrors, err = tables.OpenJournal(openCtx, svc, cfg.State.MirrorTable()); err != nil {
			return nil, err
		}
	}

	var pairs []replication.Pair
	plans := map[string]failover.Pair{}
	for _, p := range cfg.Pairs {
		primary, err := logic.New(p.Primary, cred, armOpts, cfg.Engine.PageSize)
		if err != nil {
			return nil, wrap("pair "+p.Name+" primary", err)
		}
		secondary, err := logic.New(p.Secondary, cred, armOpts, cfg.Engine.PageSize)
		if err != nil {
			return nil, wrap("pair "+p.Name+" secondary", err)
		}
		kinds := map[session.Kind]bool{}
		for _, k := range p.Kinds {
			kinds[k] = true
		}
		rp := replication.Pair{Name: p.Name, Primary: primary, Secondary: secondary, Kinds: kinds, Overlap: p.Overlap}
		pairs = append(pairs, rp)
		fp, err := planPair(p, rp, cred, armOpts)
		if err != nil {
			return nil, wrap("pair "+p.Name, err)
		}
		plans[p.Name] = fp
	}
	limits := replication.Limits{
		Reads:  rate.NewLimiter(rate.Limit(cfg.Budget.ReadsPerSecond), cfg.Budget.ReadBurst),
		Writes: rate.NewLimiter(rate.Limit(cfg.Budget.PerSecond), cfg.Budget.Burst),
	}
	engine := replication.NewEngine(store, limits, log, replication.Options{
		Lease:          cfg.Engine.Lease,
		Workers:        cfg.Engine.Workers,
		BatchSize:      cfg.Engine.BatchSize,
		ClockSkew:      cfg.Engine.ClockSkew,
		ReconcileEvery: reconcileEvery(cfg.Engine.ReconcileEvery),
	})
	streams := &replication.Service{Engine: engine, Pairs: pairs}
	runner := &failover.Runner{
		Journal: jrnl, Streams: store, CatchUp: engine, Pairs: plans, Writes: limits.Writes,
		Log: log, ClockSkew: cfg.Engine.ClockSkew, Workers: cfg.Engine.Workers, ReadinessEvery: cfg.Engine.ReadinessEvery,
	}
	ssisOps, err := ssisRunner(cfg, jrnl, cred, armOpts, open, log)
	if err != nil {
		return nil, err
	}
	mirrorOps, err := mirrorRunner(cfg, mirrors, jrnl, store, ssisOps, cred, armOpts, limits, log)
	if err != nil {
		return nil, err
	}
	runner.Drift = mirrorOps
	// The mirror's runner comes last: it takes drift and mirror commands by action.
	ops := handlers.ByPair{runner, ssisOps, mirrorOps}
	var pairNames []string
	for _, p := range cfg.Pairs {
		pairNames = append(pairNames, p.Name)
	}
	for _, p := range cfg.SSISPairs {
		pairNames = append(pairNames, p.Name)
	}
	h := &handlers.Handler{
		Replicator: streams,
		Overview: overview.Sources{
			Streams: streams, Journal: jrnl, Readiness: runner, SSIS: ssisOps.Reconciler, Drift: mirrorOps, Pairs: pairNames,
			ReadinessEvery: cfg.Engine.ReadinessEvery,
		},
		Operations: ops,
		SSIS:       ssisOps.Reconciler,
		KnownPair:  func(name string) bool { return runner.Owns(name) || ssisOps.Owns(name) },
		AlertRules: cfg.AlertRules,
		Log:        log,
		// The lease bounds the work; the checkpoint commit after it has its own
		// short limit.
		Timeout: cfg.Engine.Lease + time.Minute,
	}
	return &App{Config: cfg, Handler: h, Checkpoints: store, Journal: jrnl, Engine: engine, Streams: streams, Failover: runner, SSIS: ssisOps, Mirror: mirrorOps, Mirrors: mirrors, Operations: ops}, nil
}

// planPair builds what failover plans need of a pair: both accounts' sessions and
// agreements, the workflows that run only where their side is active, and the
// routes that send partners to each side.
func planPair(p config.Pair, rp replication.Pair, cred azcore.TokenCredential, armOpts *arm.ClientOptions) (failover.Pair, error) {
	side := func(account string, ids, routes []string, sessions replication.Account) (failover.Side, error) {
		ags, err := logic.NewAgreements(account, cred, armOpts)
		if err != nil {
			return failover.Side{}, err
		}
		s := failover.Side{Sessions: sessions, Agreements: ags}
		for _, id := range ids {
			w, err := newWorkflow(id, cred, armOpts)
			if err != nil {
				return failover.Side{}, err
			}
			s.Workflows = append(s.Workflows, w)
		}
		for _, id := range routes {
			r, err := newRoute(id, cred, armOpts)
			if err != nil {
				return failover.Side{}, err
			}
			s.Routes = append(s.Routes, r)
		}
		return s, nil
	}
	primary, err := side(p.Primary, p.Failover.PrimaryWorkflows, p.Failover.PrimaryRoutes, rp.Primary)
	if err != nil {
		return failover.Pair{}, err
	}
	secondary, err := side(p.Secondary, p.Failover.SecondaryWorkflows, p.Failover.SecondaryRoutes, rp.Secondary)
	if err != nil {
		return failover.Pair{}, err
	}
	f := p.Failover
	return failover.Pair{
		Name: p.Name, Replication: rp, Primary: primary, Secondary: secondary,
		Policy: failover.Policy{MinBump: f.MinBump, BlockSize: f.BlockSize, Safety: f.Safety},
		Settle: f.Settle, Cooldown: f.Cooldown, RequireDuplicateChecks: f.RequireDuplicateChecks, MaxLag: f.MaxLag,
	}, nil
}

// wrap prefixes err with what failed, unless err already says it first: an adapter's
// error often names its own operation ("table storage: ..."), and the operator should
// not read it twice.
func wrap(what string, err error) error {
	if strings.HasPrefix(err.Error(), what+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// reconcileEvery maps the setting's 0 ("never") to the engine's negative.
func reconcileEvery(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
