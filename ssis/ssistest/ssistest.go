// Package ssistest is an in-memory SSIS pair for tests: a failover group, two data
// factories and two SSISDBs behind the ssis ports, and an in-memory ssis.Store. Not
// for production use.
package ssistest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"integration-dr/drerr"
	"integration-dr/mssql"
	"integration-dr/ssis"
)

// Store is an in-memory ssis.Store with the Table Storage one's ETag rules.
type Store struct {
	mu      sync.Mutex
	states  map[string][]byte
	etags   map[string]string
	version int
	// Saves counts successful saves; SaveCount reads it safely beside running passes.
	Saves int
}

var _ ssis.Store = (*Store)(nil)

// SaveCount returns Saves, read under the store's lock (safe beside running passes).
func (s *Store) SaveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Saves
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{states: map[string][]byte{}, etags: map[string]string{}} }

func (s *Store) Load(_ context.Context, pair string) (ssis.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok := s.states[pair]
	if !ok {
		return ssis.State{Pair: pair}, nil
	}
	var st ssis.State
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, err
	}
	st.ETag = s.etags[pair]
	return st, nil
}

func (s *Store) Save(_ context.Context, st ssis.State) (ssis.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etags[st.Pair] != st.ETag {
		return st, drerr.Errorf(drerr.Conflict, "save ssis state", "pair %s changed since it was read", st.Pair)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return st, err
	}
	s.version++
	s.states[st.Pair], s.etags[st.Pair] = raw, strconv.Itoa(s.version)
	s.Saves++
	st.ETag = s.etags[st.Pair]
	return st, nil
}

// World is both sides of one pair in memory. Long-running operations finish after
// PollsToFinish polls; a side that is Down cannot be reached at all; a side with a
// fault answers every call (or every write) with it.
//
// The world watches the rule that a package is never schedulable on both sides: a
// start of a trigger, or an enable of a schedule, while the other side's namesake
// is on, is recorded in Overlaps.
type World struct {
	mu            sync.Mutex
	roles         map[ssis.Side]ssis.Role
	sqlRole       map[ssis.Side]string // "", or an override: PRIMARY, SECONDARY, none
	irs           map[ssis.Side]string
	triggers      map[ssis.Side]map[string]string
	annotations   map[string][]string
	schedules     map[ssis.Side]map[int]*mssql.Schedule
	ops           map[string]*op
	down          map[ssis.Side]bool
	faults        map[ssis.Side]error
	writeFaults   map[ssis.Side]error
	overlaps      []string
	failStarts    map[ssis.Side]int
	PollsToFinish int
	// Writes lists every change made, in order ("primary: start ir", ...). Read it
	// with WritesSoFar while anything may still be writing.
	Writes []string
	next   int
}

type op struct {
	side  ssis.Side
	kind  string // start, stop, failover
	polls int
}

// NewWorld returns a pair whose primary side is Primary, both runtimes running, no
// triggers or schedules.
func NewWorld() *World {
	return &World{
		roles:         map[ssis.Side]ssis.Role{ssis.SidePrimary: ssis.Primary, ssis.SideSecondary: ssis.Secondary},
		sqlRole:       map[ssis.Side]string{},
		irs:           map[ssis.Side]string{ssis.SidePrimary: ssis.IRStarted, ssis.SideSecondary: ssis.IRStarted},
		triggers:      map[ssis.Side]map[string]string{ssis.SidePrimary: {}, ssis.SideSecondary: {}},
		annotations:   map[string][]string{},
		schedules:     map[ssis.Side]map[int]*mssql.Schedule{ssis.SidePrimary: {}, ssis.SideSecondary: {}},
		ops:           map[string]*op{},
		down:          map[ssis.Side]bool{},
		faults:        map[ssis.Side]error{},
		writeFaults:   map[ssis.Side]error{},
		failStarts:    map[ssis.Side]int{},
		PollsToFinish: 2,
	}
}

// SetPollsToFinish sets PollsToFinish under the world's lock (safe beside running
// passes, where assigning the field is not).
func (w *World) SetPollsToFinish(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.PollsToFinish = n
}

// SetRoles sets both sides' roles at once, as a failover that finished would.
func (w *World) SetRoles(primary, secondary ssis.Role) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.roles[ssis.SidePrimary], w.roles[ssis.SideSecondary] = primary, secondary
	for token, o := range w.ops {
		if o.kind != "start" && o.kind != "stop" {
			delete(w.ops, token) // the group's failover finished
		}
	}
}

// SetSQLRole makes SSISDB on a side answer role ("PRIMARY", "SECONDARY", "none" for no
// row) whatever the group says; "" follows the group again.
func (w *World) SetSQLRole(s ssis.Side, role string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sqlRole[s] = role
}

// SetIR sets a side's runtime state.
func (w *World) SetIR(s ssis.Side, state string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.irs[s] = state
}

// IR returns a side's runtime state.
func (w *World) IR(s ssis.Side) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.irs[s]
}

// PutTrigger adds a trigger to a side's factory.
func (w *World) PutTrigger(s ssis.Side, name, state string, annotations ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.triggers[s][name] = state
	w.annotations[string(s)+"/"+name] = annotations
}

// Trigger returns a trigger's state.
func (w *World) Trigger(s ssis.Side, name string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.triggers[s][name]
}

// PutSchedule adds a SQL Agent schedule to a side's instance.
func (w *World) PutSchedule(s ssis.Side, id int, name string, enabled bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.schedules[s][id] = &mssql.Schedule{ID: id, Name: name, Enabled: enabled}
}

// Schedule returns whether a schedule is enabled.
func (w *World) Schedule(s ssis.Side, id int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.schedules[s][id].Enabled
}

// SetDown cuts a side off: its group, factory and SSISDB cannot be reached at all
// (drerr.Unreachable, as a connection that every try fails to open).
func (w *World) SetDown(s ssis.Side, down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down[s] = down
}

// SetFault makes every call to a side's group, factory and SSISDB fail with err (a
// throttled, slow, erroring or refusing side: it is there, but does not do what it is
// asked); nil clears it. Nothing the call would have changed is changed.
func (w *World) SetFault(s ssis.Side, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[s] = err
}

// SetWriteFault makes a side answer every read but fail every change (trigger start
// or stop, schedule enable or disable, runtime start or stop, failover, attach) with
// err; nil clears it.
func (w *World) SetWriteFault(s ssis.Side, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writeFaults[s] = err
}

// Overlaps lists every change that left a package schedulable on both sides at once:
// a trigger started while the other side's trigger of that name was started, or a
// schedule enabled while the other side's schedule of that name was enabled, the
// other side being reachable.
func (w *World) Overlaps() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.overlaps)
}

// FailStarts makes the next n starts of a side's runtime fail.
func (w *World) FailStarts(s ssis.Side, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failStarts[s] = n
}

// WritesSoFar returns a copy of Writes.
func (w *World) WritesSoFar() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.Writes)
}

func (w *World) write(format string, args ...any) {
	w.Writes = append(w.Writes, fmt.Sprintf(format, args...))
}

func (w *World) check(s ssis.Side) error {
	if w.down[s] {
		return drerr.Errorf(drerr.Unreachable, "call the "+string(s)+" side", "the endpoint refused connections (3 tries)")
	}
	return w.faults[s]
}

// checkWrite is check for a call that changes something.
func (w *World) checkWrite(s ssis.Side) error {
	if err := w.check(s); err != nil {
		return err
	}
	return w.writeFaults[s]
}

// watch records an overlap if the change just written left trigger or schedule name
// on on both sides. A side that cannot be reached (SetDown) is left out: the rule
// lets the other side go ahead without it, and fence it once it answers.
func (w *World) watch(s ssis.Side, what, name string) {
	if w.down[s.Other()] {
		return
	}
	var on bool
	switch what {
	case "trigger":
		for n, state := range w.triggers[s.Other()] {
			on = on || strings.EqualFold(n, name) && state == ssis.TriggerStarted
		}
	case "schedule":
		for _, sc := range w.schedules[s.Other()] {
			on = on || strings.EqualFold(sc.Name, name) && sc.Enabled
		}
	}
	if on {
		w.overlaps = append(w.overlaps, fmt.Sprintf("after %q (change %d): %s %s is on on both sides", w.Writes[len(w.Writes)-1], len(w.Writes), what, name))
	}
}

// Group returns a side's view of the failover group.
func (w *World) Group(s ssis.Side) ssis.FailoverGroup { return group{w, s} }

// Factory returns a side's data factory.
func (w *World) Factory(s ssis.Side) ssis.Factory { return factory{w, s} }

// DB returns a side's SSISDB.
func (w *World) DB(s ssis.Side) ssis.Database { return db{w, s} }

// Endpoint returns a side's endpoint with runtime "ir-<side>" and the given triggers
// and schedule ids.
func (w *World) Endpoint(s ssis.Side, triggers []string, schedules []int) ssis.Endpoint {
	return ssis.Endpoint{Group: w.Group(s), DB: w.DB(s), Factory: w.Factory(s), IR: "ir-" + string(s), Triggers: triggers, ScheduleIDs: schedules}
}

type group struct {
	w *World
	s ssis.Side
}

func (g group) Roles(context.Context) (ssis.Role, ssis.Role, error) {
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	if err := g.w.check(g.s); err != nil {
		return "", "", err
	}
	return g.w.roles[g.s], g.w.roles[g.s.Other()], nil
}

func (g group) BeginFailover(_ context.Context, force bool) (string, error) {
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	if err := g.w.checkWrite(g.s); err != nil {
		return "", err
	}
	if g.w.roles[g.s] == ssis.Primary {
		return "", drerr.Errorf(drerr.Invalid, "failover", "the %s side is primary already", g.s)
	}
	for _, o := range g.w.ops {
		if o.kind != "start" && o.kind != "stop" {
			// As ARM answers 409 FailoverGroupOperationInProgress.
			return "", drerr.Errorf(drerr.Conflict, "failover", "a failover of the group is in progress")
		}
	}
	kind := "failover"
	if force {
		kind = "force-failover"
	}
	g.w.write("%s: %s", g.s, kind)
	return g.w.begin(g.s, kind), nil
}

func (g group) PollFailover(_ context.Context, token string) (bool, error) { return g.w.poll(token) }

func (w *World) begin(s ssis.Side, kind string) string {
	w.next++
	token := fmt.Sprintf("op-%d", w.next)
	w.ops[token] = &op{side: s, kind: kind}
	return token
}

func (w *World) poll(token string) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.ops[token]
	if !ok {
		return false, drerr.Errorf(drerr.Invalid, "poll", "unknown token %q", token)
	}
	if err := w.check(o.side); err != nil {
		return false, err
	}
	o.polls++
	if o.polls < w.PollsToFinish {
		return false, nil
	}
	delete(w.ops, token)
	switch o.kind {
	case "start":
		w.irs[o.side] = ssis.IRStarted
	case "stop":
		w.irs[o.side] = ssis.IRStopped
	default:
		w.roles[o.side], w.roles[o.side.Other()] = ssis.Primary, ssis.Secondary
	}
	return true, nil
}

type factory struct {
	w *World
	s ssis.Side
}

func (f factory) Name() string { return "adf-" + string(f.s) }

func (f factory) IRState(_ context.Context, ir string) (string, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if err := f.w.check(f.s); err != nil {
		return "", err
	}
	return f.w.irs[f.s], nil
}

func (f factory) BeginIR(_ context.Context, ir string, start bool) (string, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if err := f.w.checkWrite(f.s); err != nil {
		return "", err
	}
	kind, from, via := "stop", ssis.IRStarted, ssis.IRStopping
	if start {
		kind, from, via = "start", ssis.IRStopped, ssis.IRStarting
		if f.w.failStarts[f.s] > 0 {
			f.w.failStarts[f.s]--
			return "", drerr.Errorf(drerr.Invalid, "start "+ir, "IntegrationRuntimeStartFailed")
		}
	}
	// A runtime never started yet (Initial) starts as a stopped one does.
	if cur := f.w.irs[f.s]; cur != from && (!start || cur != ssis.IRInitial) {
		return "", drerr.Errorf(drerr.Conflict, kind+" "+ir, "runtime is %s", cur)
	}
	f.w.irs[f.s] = via
	f.w.write("%s: %s %s", f.s, kind, ir)
	return f.w.begin(f.s, kind), nil
}

func (f factory) PollIR(_ context.Context, token string) (bool, error) { return f.w.poll(token) }

func (f factory) Triggers(context.Context) ([]ssis.Trigger, error) {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if err := f.w.check(f.s); err != nil {
		return nil, err
	}
	var out []ssis.Trigger
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range f.w.triggers[f.s] {
			if !yield(n) {
				return
			}
		}
	}) {
		out = append(out, ssis.Trigger{Name: name, State: f.w.triggers[f.s][name], Annotations: f.w.annotations[string(f.s)+"/"+name]})
	}
	return out, nil
}

func (f factory) SetTrigger(_ context.Context, name string, start bool) error {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	if err := f.w.checkWrite(f.s); err != nil {
		return err
	}
	if _, ok := f.w.triggers[f.s][name]; !ok {
		return drerr.Errorf(drerr.NotFound, "trigger", "%s", name)
	}
	state, verb := ssis.TriggerStopped, "stop"
	if start {
		state, verb = ssis.TriggerStarted, "start"
	}
	f.w.triggers[f.s][name] = state
	f.w.write("%s: %s trigger %s", f.s, verb, name)
	if start {
		f.w.watch(f.s, "trigger", name)
	}
	return nil
}

type db struct {
	w *World
	s ssis.Side
}

func (d db) Role(context.Context) (mssql.Role, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.check(d.s); err != nil {
		return mssql.RoleUnknown, err
	}
	role := strings.ToUpper(string(d.w.roles[d.s]))
	if o := d.w.sqlRole[d.s]; o != "" {
		role = o
	}
	switch role {
	case "PRIMARY":
		return mssql.RolePrimary, nil
	case "SECONDARY":
		return mssql.RoleSecondary, nil
	}
	return mssql.RoleNone, nil
}

func (d db) Schedules(_ context.Context, ids []int, names []string) ([]mssql.Schedule, error) {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.check(d.s); err != nil {
		return nil, err
	}
	var out []mssql.Schedule
	for _, id := range ids {
		sc, ok := d.w.schedules[d.s][id]
		if !ok {
			return out, drerr.Errorf(drerr.NotFound, "schedules", "no schedule id %d", id)
		}
		out = append(out, *sc)
	}
	return out, nil
}

func (d db) SetScheduleEnabled(_ context.Context, id int, enabled bool) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.checkWrite(d.s); err != nil {
		return err
	}
	sc, ok := d.w.schedules[d.s][id]
	if !ok {
		return drerr.Errorf(drerr.NotFound, "update schedule", "no schedule id %d", id)
	}
	sc.Enabled = enabled
	d.w.write("%s: schedule %d enabled=%t", d.s, id, enabled)
	if enabled {
		d.w.watch(d.s, "schedule", sc.Name)
	}
	return nil
}

func (d db) FailoverIntegrationRuntime(_ context.Context, factory, ir string) error {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	if err := d.w.checkWrite(d.s); err != nil {
		return err
	}
	d.w.write("%s: failover_integration_runtime %s %s", d.s, factory, ir)
	return nil
}
