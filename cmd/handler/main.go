// Command handler is the Azure Functions custom handler: the executable the Functions
// host starts (host.json customHandler.description.defaultExecutablePath) and forwards
// every invocation to over HTTP on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
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
	"integration-dr/replication"
	"integration-dr/session"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, log, os.Getenv); err != nil {
		log.Error("handler stopped", "err", err)
		os.Exit(1)
	}
}

// envSQLStandin points SSISDB's statements at a local stand-in (test builds only).
const envSQLStandin = "DR_SQL_STANDIN"

// run serves until ctx ends, then lets the invocation in flight finish.
func run(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	open, err := sqlOpener(getenv, cfg.Azure.ClientID)
	if err != nil {
		return err
	}
	h, err := wire(ctx, cfg, open, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Without an IdleTimeout, Go counts a kept-alive connection's idle time against
	// ReadHeaderTimeout and closes it after 10 s: a caller reusing it then may send
	// its POST into a closing socket, and a POST is not retried. Idle connections stay
	// open longer than the host's pool keeps them, so the caller always closes first.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "pairs", len(cfg.Pairs))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing the invocation in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Engine.Lease)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// wire builds the app from its configuration: adapters, engine, handler.
func wire(ctx context.Context, cfg config.Config, open openDatabase, log *slog.Logger) (http.Handler, error) {
	cred, armOpts, err := auth.ARM(cfg.Azure, cfg.Engine.Workers)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	tableOpts := &aztables.ClientOptions{ClientOptions: policy.ClientOptions{Retry: auth.Retry()}}
	auth.Policies(&tableOpts.ClientOptions)
	svc, err := tables.NewServiceClient(cfg.State.ConnectionString, cfg.State.TableServiceURL, cred, tableOpts)
	if err != nil {
		return nil, fmt.Errorf("table storage: %w", err)
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := tables.Open(openCtx, svc, cfg.State.Table)
	if err != nil {
		return nil, err
	}

	jrnl, err := tables.OpenJournal(openCtx, svc, cfg.State.Table)
	if err != nil {
		return nil, err
	}

	var pairs []replication.Pair
	plans := map[string]failover.Pair{}
	for _, p := range cfg.Pairs {
		primary, err := logic.New(p.Primary, cred, armOpts, cfg.Engine.PageSize)
		if err != nil {
			return nil, fmt.Errorf("pair %s primary: %w", p.Name, err)
		}
		secondary, err := logic.New(p.Secondary, cred, armOpts, cfg.Engine.PageSize)
		if err != nil {
			return nil, fmt.Errorf("pair %s secondary: %w", p.Name, err)
		}
		kinds := map[session.Kind]bool{}
		for _, k := range p.Kinds {
			kinds[k] = true
		}
		rp := replication.Pair{Name: p.Name, Primary: primary, Secondary: secondary, Kinds: kinds, Overlap: p.Overlap}
		pairs = append(pairs, rp)
		fp, err := planPair(p, rp, cred, armOpts)
		if err != nil {
			return nil, fmt.Errorf("pair %s: %w", p.Name, err)
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
		Log: log, ClockSkew: cfg.Engine.ClockSkew, Workers: cfg.Engine.Workers,
	}
	ssisOps, err := ssisRunner(cfg, jrnl, cred, armOpts, open, log)
	if err != nil {
		return nil, err
	}
	return &handlers.Handler{
		Replicator: streams,
		Status:     streams,
		Operations: handlers.ByPair{runner, ssisOps},
		SSIS:       ssisOps.Reconciler,
		KnownPair:  func(name string) bool { return runner.Owns(name) || ssisOps.Owns(name) },
		AlertRules: cfg.AlertRules,
		Log:        log,
		// The lease bounds the work; the checkpoint commit after it has its own
		// short limit.
		Timeout: cfg.Engine.Lease + time.Minute,
	}, nil
}

// planPair builds what failover plans need of a pair: both accounts' sessions and
// agreements, and the workflows that run only where their side is active.
func planPair(p config.Pair, rp replication.Pair, cred azcore.TokenCredential, armOpts *arm.ClientOptions) (failover.Pair, error) {
	side := func(account string, ids []string, sessions replication.Account) (failover.Side, error) {
		ags, err := logic.NewAgreements(account, cred, armOpts)
		if err != nil {
			return failover.Side{}, err
		}
		s := failover.Side{Sessions: sessions, Agreements: ags}
		for _, id := range ids {
			w, err := logic.NewWorkflow(id, cred, armOpts)
			if err != nil {
				return failover.Side{}, err
			}
			s.Workflows = append(s.Workflows, w)
		}
		return s, nil
	}
	primary, err := side(p.Primary, p.Failover.PrimaryWorkflows, rp.Primary)
	if err != nil {
		return failover.Pair{}, err
	}
	secondary, err := side(p.Secondary, p.Failover.SecondaryWorkflows, rp.Secondary)
	if err != nil {
		return failover.Pair{}, err
	}
	f := p.Failover
	return failover.Pair{
		Name: p.Name, Replication: rp, Primary: primary, Secondary: secondary,
		Policy: failover.Policy{MinBump: f.MinBump, BlockSize: f.BlockSize, Safety: f.Safety},
		Settle: f.Settle, Cooldown: f.Cooldown, RequireDuplicateChecks: f.RequireDuplicateChecks,
	}, nil
}

// reconcileEvery maps the setting's 0 ("never") to the engine's negative.
func reconcileEvery(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
