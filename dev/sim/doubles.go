package sim

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"integration-dr/drerr"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
	"integration-dr/mssql"
	"integration-dr/replication"
	"integration-dr/replication/replicationtest"
	"integration-dr/session"
	"integration-dr/ssis"
)

// region is one region of the world: an integration account with its agreements and
// intake workflows, and the SSIS side that lives there.
type region struct {
	w      *World
	name   replication.Region
	acct   *replicationtest.Account
	offset time.Duration // the account's service clock less the world's
	mode   Mode
	// limited: the region was unreachable or slow since it was last fenced or plainly
	// active, so the app may have judged it down: its sends are bounded.
	limited bool
	flows   []*workflow
	// lastGen is each generated session's number as last checked, lastStamp its
	// changedTime then.
	lastGen   map[string]int64
	lastStamp map[string]time.Time
	// writtenOff: the app's last write of a generated session since the last check
	// came while the side's intake was off. A plan may move a stopped side's number
	// down (a rollover it carries) and then enable it within one event; what counts
	// is the intake when the number moved, not at the event's end.
	writtenOff map[string]bool
}

// call counts a call of key and decides its fault.
func (w *World) count(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counters[key]++
	return w.counters[key]
}

func (r *region) fault(ctx context.Context, key string) error {
	n := r.w.count(string(r.name) + "|" + key)
	return r.w.callFault(ctx, string(r.name), r.mode, key, n)
}

// account is a region's integration account as the app reaches it.
type account struct{ r *region }

var _ replication.Account = account{}

func (a account) List(ctx context.Context, since time.Time, cursor string, page func(replication.Page) error) error {
	if err := a.r.fault(ctx, "list"); err != nil {
		return err
	}
	first := true
	return a.r.acct.List(ctx, since, cursor, func(pg replication.Page) error {
		if !first {
			// A later page is another call: it may fail, and it is a moment where
			// something else may happen meanwhile.
			if err := a.r.fault(ctx, "list-page"); err != nil {
				return err
			}
		}
		first = false
		a.r.w.interleave("page")
		return page(pg)
	})
}

func (a account) Get(ctx context.Context, name string) (session.Session, error) {
	if err := a.r.fault(ctx, "get "+name); err != nil {
		return session.Session{}, err
	}
	return a.r.acct.Get(ctx, name)
}

// Put stamps the write with the service's clock and never earlier than the session's
// last change, without moving the clock: concurrent writes (a plan's bumps) stamp the
// same way in any order.
func (a account) Put(ctx context.Context, s session.Session) error {
	key := "put " + s.Name
	n := a.r.w.count(string(a.r.name) + "|" + key)
	if err := a.r.w.callFault(ctx, string(a.r.name), a.r.mode, key, n); err != nil {
		return err
	}
	crash, after := a.r.w.crashes(string(a.r.name)+key, n)
	if crash && !after {
		a.r.w.kill()
		return drerr.E(drerr.Unavailable, key, errKilled)
	}
	stamp := a.r.acct.Now()
	if cur, err := a.r.acct.Get(ctx, s.Name); err == nil && !cur.ChangedTime.Before(stamp) {
		stamp = cur.ChangedTime.Add(time.Microsecond)
	}
	a.r.acct.SetAt(s.Name, s.Content, stamp)
	a.r.w.noteWrite(a.r, s.Name)
	if crash {
		a.r.w.kill()
		return drerr.E(drerr.Unavailable, key, errKilled)
	}
	return nil
}

// agreements is a region's agreement list as the app reads it.
type agreements struct {
	r    *region
	list []failover.AgreementState
}

func (a agreements) Agreements(ctx context.Context) ([]failover.AgreementState, error) {
	if err := a.r.fault(ctx, "agreements"); err != nil {
		return nil, err
	}
	return a.list, nil
}

// workflow is an intake workflow: enabled, its region's partners' traffic flows.
type workflow struct {
	r        *region
	name     string
	protocol failover.Protocol
	mu       sync.Mutex
	enabled  bool
	// gone: the region was rebuilt without this workflow; ARM answers 404 for good.
	gone bool
}

func (f *workflow) Name() string { return f.name }

func (f *workflow) set(ctx context.Context, on bool) error {
	w := f.r.w
	if w.killed.Load() {
		return drerr.E(drerr.Unavailable, "workflow "+f.name, errKilled)
	}
	verb := map[bool]string{true: "enable", false: "disable"}[on]
	key := verb + " " + f.name
	if err := f.r.fault(ctx, key); err != nil {
		return err
	}
	if f.isGone() {
		return drerr.Errorf(drerr.NotFound, key, "404 WorkflowNotFound: the region was rebuilt without it")
	}
	w.interleave("workflow")
	crash, after := w.crashes(key, w.count("crash|"+key))
	if crash && !after {
		w.kill()
		return drerr.E(drerr.Unavailable, key, errKilled)
	}
	f.mu.Lock()
	f.enabled = on
	f.mu.Unlock()
	if crash {
		w.kill()
		return drerr.E(drerr.Unavailable, key, errKilled)
	}
	return nil
}

func (f *workflow) Enable(ctx context.Context) error  { return f.set(ctx, true) }
func (f *workflow) Disable(ctx context.Context) error { return f.set(ctx, false) }

func (f *workflow) isGone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone
}

func (f *workflow) on() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enabled
}

// journalStore is the journal as the app reaches it: reliable, except that a crashed
// attempt's process writes nothing more, and that a write may be the moment something
// else happens.
type journalStore struct {
	w     *World
	inner *journaltest.Store
	// writes counts the writes attempted, so that checks can skip an unchanged journal.
	writes int
}

var _ journal.Store = (*journalStore)(nil)

func (j *journalStore) gate(key string, write bool) (crash, after bool, err error) {
	if j.w.killed.Load() {
		return false, false, drerr.E(drerr.Unavailable, "journal "+key, errKilled)
	}
	if !write {
		return false, false, nil
	}
	j.writes++
	j.w.interleave("journal")
	crash, after = j.w.crashes("journal "+key, j.w.count("crash|journal "+key))
	if crash && !after {
		j.w.kill()
		return false, false, drerr.E(drerr.Unavailable, "journal "+key, errKilled)
	}
	return crash, after, nil
}

func (j *journalStore) after(crash bool, key string, err error) error {
	if crash {
		j.w.kill()
		return drerr.E(drerr.Unavailable, "journal "+key, errKilled)
	}
	return err
}

func (j *journalStore) Create(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	crash, after, err := j.gate("create", true)
	if err != nil {
		return op, err
	}
	_ = after
	out, err := j.inner.Create(ctx, op)
	return out, j.after(crash, "create", err)
}

func (j *journalStore) Get(ctx context.Context, pair, id string) (journal.Operation, error) {
	if _, _, err := j.gate("get", false); err != nil {
		return journal.Operation{}, err
	}
	return j.inner.Get(ctx, pair, id)
}

func (j *journalStore) Update(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	crash, _, err := j.gate("update", true)
	if err != nil {
		return op, err
	}
	out, err := j.inner.Update(ctx, op)
	return out, j.after(crash, "update", err)
}

func (j *journalStore) SaveNumbers(ctx context.Context, pair, id string, numbers []byte) error {
	crash, _, err := j.gate("numbers", true)
	if err != nil {
		return err
	}
	return j.after(crash, "numbers", j.inner.SaveNumbers(ctx, pair, id, numbers))
}

func (j *journalStore) LoadNumbers(ctx context.Context, pair, id string) ([]byte, error) {
	if _, _, err := j.gate("numbers", false); err != nil {
		return nil, err
	}
	return j.inner.LoadNumbers(ctx, pair, id)
}

func (j *journalStore) List(ctx context.Context, pair string, limit int) ([]journal.Operation, error) {
	if _, _, err := j.gate("list", false); err != nil {
		return nil, err
	}
	return j.inner.List(ctx, pair, limit)
}

func (j *journalStore) ListPending(ctx context.Context) ([]journal.Operation, error) {
	if _, _, err := j.gate("list", false); err != nil {
		return nil, err
	}
	return j.inner.ListPending(ctx)
}

func (j *journalStore) ListProposed(ctx context.Context) ([]journal.Operation, error) {
	if _, _, err := j.gate("list", false); err != nil {
		return nil, err
	}
	return j.inner.ListProposed(ctx)
}

func (j *journalStore) Lock(ctx context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	crash, _, err := j.gate("lock", true)
	if err != nil {
		return journal.Lock{}, err
	}
	l, err := j.inner.Lock(ctx, pair, opID, until)
	return l, j.after(crash, "lock", err)
}

func (j *journalStore) Renew(ctx context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	if _, _, err := j.gate("renew", false); err != nil {
		return journal.Lock{}, err
	}
	return j.inner.Renew(ctx, pair, opID, until)
}

func (j *journalStore) Unlock(ctx context.Context, pair, opID string) error {
	crash, _, err := j.gate("unlock", true)
	if err != nil {
		return err
	}
	return j.after(crash, "unlock", j.inner.Unlock(ctx, pair, opID))
}

func (j *journalStore) SaveSnapshot(ctx context.Context, pair, name string, data []byte) error {
	if _, _, err := j.gate("snapshot", false); err != nil {
		return err
	}
	return j.inner.SaveSnapshot(ctx, pair, name, data)
}

func (j *journalStore) LoadSnapshot(ctx context.Context, pair, name string) ([]byte, error) {
	if _, _, err := j.gate("snapshot", false); err != nil {
		return nil, err
	}
	return j.inner.LoadSnapshot(ctx, pair, name)
}

// checkpoints is the replication store as the app reaches it.
type checkpoints struct {
	w     *World
	inner *replicationtest.Store
}

var _ replication.Store = (*checkpoints)(nil)

func (c *checkpoints) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	if c.w.killed.Load() {
		return replication.Checkpoint{}, replication.ActiveRegion{}, drerr.E(drerr.Unavailable, "load checkpoint", errKilled)
	}
	return c.inner.Load(ctx, pair)
}

func (c *checkpoints) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	if c.w.killed.Load() {
		return cp, drerr.E(drerr.Unavailable, "save checkpoint", errKilled)
	}
	c.w.interleave("checkpoint")
	crash, after := c.w.crashes("save checkpoint", c.w.count("crash|checkpoint"))
	if crash && !after {
		c.w.kill()
		return cp, drerr.E(drerr.Unavailable, "save checkpoint", errKilled)
	}
	out, err := c.inner.Save(ctx, cp)
	if crash {
		c.w.kill()
		return cp, drerr.E(drerr.Unavailable, "save checkpoint", errKilled)
	}
	return out, err
}

func (c *checkpoints) SetActiveRegion(ctx context.Context, pair string, r replication.ActiveRegion) (replication.ActiveRegion, error) {
	if c.w.killed.Load() {
		return r, drerr.E(drerr.Unavailable, "set active region", errKilled)
	}
	c.w.interleave("region")
	crash, after := c.w.crashes("set active region", c.w.count("crash|region"))
	if crash && !after {
		c.w.kill()
		return r, drerr.E(drerr.Unavailable, "set active region", errKilled)
	}
	out, err := c.inner.SetActiveRegion(ctx, pair, r)
	if crash {
		c.w.kill()
		return r, drerr.E(drerr.Unavailable, "set active region", errKilled)
	}
	return out, err
}

// The SSIS side of a region, through the same modes.
type ssisGroup struct {
	r     *region
	inner ssis.FailoverGroup
}

func (g ssisGroup) Roles(ctx context.Context) (ssis.Role, ssis.Role, error) {
	if err := g.r.fault(ctx, "fg roles"); err != nil {
		return "", "", err
	}
	return g.inner.Roles(ctx)
}

func (g ssisGroup) BeginFailover(ctx context.Context, force bool) (string, error) {
	if err := g.r.fault(ctx, "fg failover"); err != nil {
		return "", err
	}
	return g.inner.BeginFailover(ctx, force)
}

func (g ssisGroup) PollFailover(ctx context.Context, token string) (bool, error) {
	if err := g.r.fault(ctx, "fg poll"); err != nil {
		return false, err
	}
	return g.inner.PollFailover(ctx, token)
}

type ssisFactory struct {
	r     *region
	inner ssis.Factory
}

func (f ssisFactory) Name() string { return f.inner.Name() }

func (f ssisFactory) IRState(ctx context.Context, ir string) (string, error) {
	if err := f.r.fault(ctx, "ir state"); err != nil {
		return "", err
	}
	return f.inner.IRState(ctx, ir)
}

func (f ssisFactory) BeginIR(ctx context.Context, ir string, start bool) (string, error) {
	if err := f.r.fault(ctx, "ir begin"); err != nil {
		return "", err
	}
	return f.inner.BeginIR(ctx, ir, start)
}

func (f ssisFactory) PollIR(ctx context.Context, token string) (bool, error) {
	if err := f.r.fault(ctx, "ir poll"); err != nil {
		return false, err
	}
	return f.inner.PollIR(ctx, token)
}

func (f ssisFactory) Triggers(ctx context.Context) ([]ssis.Trigger, error) {
	if err := f.r.fault(ctx, "triggers"); err != nil {
		return nil, err
	}
	return f.inner.Triggers(ctx)
}

func (f ssisFactory) SetTrigger(ctx context.Context, name string, start bool) error {
	if err := f.r.fault(ctx, "set trigger "+name); err != nil {
		return err
	}
	return f.inner.SetTrigger(ctx, name, start)
}

type ssisDB struct {
	r     *region
	inner ssis.Database
}

func (d ssisDB) Role(ctx context.Context) (mssql.Role, error) {
	if err := d.r.fault(ctx, "db role"); err != nil {
		return mssql.RoleUnknown, err
	}
	return d.inner.Role(ctx)
}

func (d ssisDB) Schedules(ctx context.Context, ids []int, names []string) ([]mssql.Schedule, error) {
	if err := d.r.fault(ctx, "schedules"); err != nil {
		return nil, err
	}
	return d.inner.Schedules(ctx, ids, names)
}

func (d ssisDB) SetScheduleEnabled(ctx context.Context, id int, enabled bool) error {
	if err := d.r.fault(ctx, "set schedule"); err != nil {
		return err
	}
	return d.inner.SetScheduleEnabled(ctx, id, enabled)
}

func (d ssisDB) FailoverIntegrationRuntime(ctx context.Context, dataFactory, irName string) error {
	if err := d.r.fault(ctx, "attach ir"); err != nil {
		return err
	}
	return d.inner.FailoverIntegrationRuntime(ctx, dataFactory, irName)
}

// content is a control-number session's content as the connector writes it.
func content(number string, at time.Time, proto failover.Protocol) json.RawMessage {
	mt := 0
	if proto == failover.EDIFACT {
		mt = 1
	}
	b, _ := json.Marshal(struct {
		ControlNumber             string
		ControlNumberChangedTime  string
		IsMessageProcessingFailed bool
		MessageType               int
	}{number, failover.FormatStamp(at), false, mt})
	return b
}
