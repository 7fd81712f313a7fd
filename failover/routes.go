package failover

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"integration-dr/drerr"
	"integration-dr/replication"
)

// Route is where a router sends partners' traffic to one side: a Traffic Manager
// endpoint or a Front Door origin. Enable and Disable read first and write only what
// differs, so a resumed or redelivered step does not write twice.
type Route interface {
	Name() string
	Enable(ctx context.Context) error
	Disable(ctx context.Context) error
	State(ctx context.Context) (RouteState, error)
}

// RouteState is a route as its router reports it.
type RouteState struct {
	Enabled bool
	// Health is the router's view of the endpoint (Traffic Manager's monitor status:
	// Online, Degraded, ...); "" when the router reports none (Front Door origins).
	Health string
	// Target is where the route sends traffic (a host name or a resource).
	Target string
}

// Route change words, as steps journal them: "disabled route tm prof/ep-primary".
const (
	routeDisabled = "disabled route "
	routeEnabled  = "enabled route "
	// routePending starts the change line of a route the old side's stop could not
	// reach: its fence is pending, and until it lands both sides may be routed.
	routePending = "route fence pending: "
)

// routeOutcome is what a pass over a side's routes found.
type routeOutcome struct {
	changes []string
	// down are the routes that could not be reached within the budget: name → why.
	down map[string]string
	// bad are the routes that answered, but badly (throttled, refusing, erroring):
	// name → why.
	bad map[string]string
	// fatal are the routes asking again cannot help with: gone or refused as
	// invalid, when enabling them (a route that is gone counts as disabled).
	fatal []string
}

func (o routeOutcome) ok() bool { return len(o.down) == 0 && len(o.bad) == 0 && len(o.fatal) == 0 }

// err joins what did not land into one error, or nil.
func (o routeOutcome) err() error {
	if o.ok() {
		return nil
	}
	msgs := append([]string(nil), o.fatal...)
	for _, name := range sortedKeys(o.bad) {
		msgs = append(msgs, o.bad[name])
	}
	for _, name := range sortedKeys(o.down) {
		msgs = append(msgs, o.down[name])
	}
	return errors.New(strings.Join(msgs, "; "))
}

// switchRoutes enables or disables each route on its own, each call within budget
// when it is set, passing by the routes in skip: routes live in global profiles, so
// one may answer while another, or its side's region, does not. A route that is gone
// (404) counts as disabled — it takes no traffic.
func switchRoutes(ctx context.Context, routes []Route, enable bool, budget time.Duration, skip map[string]bool) routeOutcome {
	out := routeOutcome{down: map[string]string{}, bad: map[string]string{}}
	for _, rt := range routes {
		if skip[rt.Name()] {
			continue
		}
		do, verb := rt.Disable, routeDisabled
		if enable {
			do, verb = rt.Enable, routeEnabled
		}
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			cctx, cancel = context.WithTimeout(ctx, budget)
		}
		err := do(cctx)
		cancel()
		switch {
		case err == nil:
			out.changes = append(out.changes, verb+rt.Name())
		case drerr.Is(err, drerr.NotFound) && !enable:
			out.changes = append(out.changes, "route "+rt.Name()+" is gone")
		case enable && (drerr.Is(err, drerr.NotFound) || drerr.Is(err, drerr.Invalid)):
			out.fatal = append(out.fatal, fmt.Sprintf("route %s: %v", rt.Name(), err))
		case unreachable(ctx, err):
			out.down[rt.Name()] = fmt.Sprintf("route %s %s within the %s reach budget (%v)", rt.Name(), unreachableWords, budget, err)
		default:
			out.bad[rt.Name()] = fmt.Sprintf("route %s: %v", rt.Name(), err)
		}
	}
	return out
}

// pendingRoutes are the routes of routes whose fence the stop-old step journaled as
// pending (see routePending), by name.
func pendingRoutes(changes []string, routes []Route) map[string]bool {
	out := map[string]bool{}
	for _, rt := range routes {
		for _, c := range changes {
			if strings.HasPrefix(c, routePending+rt.Name()+": ") {
				out[rt.Name()] = true
			}
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// counted says how many routes and workflows a step went through.
func counted(side Side) string {
	if len(side.Routes) == 0 {
		return fmt.Sprintf("%d workflows", len(side.Workflows))
	}
	return fmt.Sprintf("%d routes, %d workflows", len(side.Routes), len(side.Workflows))
}

// stopSide stops a side's routes, then its workflows (stopIntake), each call within
// budget when it is set: partners stop being sent there before its intake stops. It
// returns what it changed before the first error.
func stopSide(ctx context.Context, side Side, budget time.Duration) ([]string, error) {
	ro := switchRoutes(ctx, side.Routes, false, budget, nil)
	if err := ro.err(); err != nil {
		return ro.changes, err
	}
	changes, err := stopIntake(ctx, side, budget)
	return append(ro.changes, changes...), err
}

// Health values of a route, as Traffic Manager reports them (EndpointMonitorStatus).
// Online passes; Degraded, Stopped and Inactive fail; anything else, and "", is not a
// verdict on the endpoint (a disabled endpoint is not probed, one is being checked,
// or the router reports no health).
var failingHealth = map[string]bool{"degraded": true, "stopped": true, "inactive": true}

// RouteReading is one route as a readiness check read it.
type RouteReading struct {
	Side    replication.Region
	Name    string
	Enabled bool
	Health  string `json:",omitempty"`
	Target  string `json:",omitempty"`
	// At is when it was read.
	At time.Time
	// Error says why it could not be read; the rest is then unknown.
	Error string `json:",omitempty"`
	// Missing: the router says the route does not exist.
	Missing bool `json:",omitempty"`
}

// readRoutes reads every route of a side, each within budget when it is set.
func readRoutes(ctx context.Context, region replication.Region, routes []Route, budget time.Duration, now func() time.Time) []RouteReading {
	out := make([]RouteReading, 0, len(routes))
	for _, rt := range routes {
		cctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			cctx, cancel = context.WithTimeout(ctx, budget)
		}
		st, err := rt.State(cctx)
		cancel()
		r := RouteReading{Side: region, Name: rt.Name(), At: now().UTC()}
		switch {
		case drerr.Is(err, drerr.NotFound):
			r.Missing, r.Error = true, "does not exist"
		case err != nil:
			r.Error = err.Error()
		default:
			r.Enabled, r.Health, r.Target = st.Enabled, st.Health, st.Target
		}
		out = append(out, r)
	}
	return out
}

// checkRoutes judges readings: every route must exist and be readable; the target's
// must not be reported unhealthy where the router reports health. A problem of the
// old side's routes counts only when old is true (the readiness report, made before
// a disaster); during a move the old side's router may well not answer.
func checkRoutes(readings []RouteReading, target replication.Region, old bool) Readiness {
	var r Readiness
	for _, rd := range readings {
		if rd.Side != target && !old {
			continue
		}
		switch {
		case rd.Missing:
			r.Reasons = append(r.Reasons, fmt.Sprintf("route %s of the %s does not exist", rd.Name, rd.Side))
		case rd.Error != "":
			r.Reasons = append(r.Reasons, fmt.Sprintf("route %s of the %s could not be read: %s", rd.Name, rd.Side, rd.Error))
		case rd.Side == target && failingHealth[strings.ToLower(rd.Health)]:
			r.Reasons = append(r.Reasons, fmt.Sprintf("route %s of the %s is %s", rd.Name, rd.Side, rd.Health))
		case rd.Side == target && rd.Enabled && old:
			// The standby is routed while it does not serve: partners reach
			// workflows that are off, and a move would have to take it off first.
			r.Reasons = append(r.Reasons, fmt.Sprintf("route %s of the %s is enabled while the %s does not serve: disable it", rd.Name, rd.Side, rd.Side))
		}
	}
	return r.Merge(Readiness{})
}

// routePreview says what a move would change on each route, as read now: the
// journal of a dry run or a drill.
func routePreview(readings []RouteReading, from replication.Region) []string {
	var out []string
	for _, rd := range readings {
		state := "disabled"
		if rd.Enabled {
			state = "enabled"
		}
		if rd.Health != "" {
			state += ", " + rd.Health
		}
		switch {
		case rd.Error != "":
			out = append(out, fmt.Sprintf("route %s (%s) not read: %s", rd.Name, rd.Side, rd.Error))
		case rd.Side == from && rd.Enabled:
			out = append(out, fmt.Sprintf("would disable route %s (%s, now %s)", rd.Name, rd.Side, state))
		case rd.Side == from:
			out = append(out, fmt.Sprintf("route %s (%s) is disabled already", rd.Name, rd.Side))
		case !rd.Enabled:
			out = append(out, fmt.Sprintf("would enable route %s (%s, now %s) after the bumps settle", rd.Name, rd.Side, state))
		default:
			out = append(out, fmt.Sprintf("route %s (%s) is enabled already (%s)", rd.Name, rd.Side, state))
		}
	}
	return out
}

// routesReady checks, for a move's readiness step, that the target's routes exist,
// can be read and are not reported unhealthy; the old side's routes are not asked
// (its router may be what is out). A dry run or a drill reads both sides' routes,
// writing nothing, and notes what the move would change on each.
func (p *plan) routesReady(ctx context.Context) (Readiness, []string) {
	from, to := p.direction()
	readings := readRoutes(ctx, to, p.pair.side(to).Routes, p.r.reach(), p.r.now)
	if !readOnly(*p.op) {
		return checkRoutes(readings, to, false), nil
	}
	old := readRoutes(ctx, from, p.pair.side(from).Routes, p.r.reach(), p.r.now)
	return checkRoutes(readings, to, false), routePreview(append(old, readings...), from)
}

// stater is a workflow that can say its state (both Logic Apps kinds can).
type stater interface {
	State(ctx context.Context) (string, error)
}

// intakeChecks reads, for the readiness report, both sides' routes (kept in rep
// with the time each was read) and intake workflows: every route and workflow must
// exist (a 404 is not ready) and be readable, and the target's routes must not be
// reported unhealthy. A pair with neither configured gets no check.
func (r *Runner) intakeChecks(ctx context.Context, pair Pair, from, to replication.Region, rep *Report) []Check {
	var out []Check
	if len(pair.Primary.Routes)+len(pair.Secondary.Routes) > 0 {
		rep.Routes = append(readRoutes(ctx, from, pair.side(from).Routes, r.reach(), r.now),
			readRoutes(ctx, to, pair.side(to).Routes, r.reach(), r.now)...)
		verdict := checkRoutes(rep.Routes, to, true)
		c := Check{Name: CheckNameRoutes, OK: verdict.Ready(), Why: strings.Join(verdict.Reasons, "; ")}
		if c.OK {
			c.Why = fmt.Sprintf("%d routes", len(rep.Routes))
		}
		out = append(out, c)
	}
	var problems []string
	n := 0
	for _, region := range []replication.Region{from, to} {
		for _, w := range pair.side(region).Workflows {
			s, ok := w.(stater)
			if !ok {
				continue
			}
			n++
			cctx, cancel := context.WithTimeout(ctx, r.reach())
			_, err := s.State(cctx)
			cancel()
			switch {
			case drerr.Is(err, drerr.NotFound):
				problems = append(problems, fmt.Sprintf("workflow %s of the %s does not exist", w.Name(), region))
			case err != nil:
				problems = append(problems, fmt.Sprintf("workflow %s of the %s could not be read: %v", w.Name(), region, err))
			}
		}
	}
	if n > 0 {
		c := Check{Name: CheckNameWorkflows, OK: len(problems) == 0, Why: strings.Join(problems, "; ")}
		if c.OK {
			c.Why = fmt.Sprintf("%d workflows", n)
		}
		out = append(out, c)
	}
	return out
}
