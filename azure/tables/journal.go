package tables

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"integration-dr/azure/azerr"
	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
)

// Layout of the journal, in the checkpoints' table:
//
//	PartitionKey "journal|<pair>"       the pair's journal
//	  RowKey "op|<id>"                   the operation; its steps as JSON in Steps0..StepsN-1 (Edm.Binary)
//	  RowKey "op|<id>|numbers"           the numbers' manifest: Length, Chunks, Digest (SHA-256)
//	  RowKey "op|<id>|numbers|<d>|0001"  the numbers themselves, Data0..Data3 (Edm.Binary);
//	                                     <d> is the first 16 hex digits of Digest
//	  RowKey "ix|<19-digit inverted Created ns>|<id>"   newest-first index for List
//	  RowKey "lock"                      the per-pair lock: Holder, Until
//	PartitionKey "journal|~pending" (no pair name has a "~")
//	  RowKey "<pair>|<id>"               a running or waiting operation: Pair, ID
//
// The journal has partitions of its own, not the pair's: the checkpoint's Load reads
// the pair's whole partition on every replication run and must not carry megabytes of
// numbers with it. '|' is in neither pair names nor command ids, so no key is the
// prefix of another's.
//
// Steps and numbers are binary properties: they count bytes, not UTF-16 units, and
// travel as base64, which Azurite cannot corrupt (it decodes a request body chunk by
// chunk and breaks a multi-byte character split between two: Azure/Azurite#2670).
const (
	journalPrefix    = "journal|"
	pendingPartition = "journal|~pending"
	rowLock          = "lock"
	rowSnapshot      = "snapshot|" // + its name

	// A binary property holds 64 KiB; an entity 1 MiB. The steps take at most 12
	// properties of 60 KiB, which leaves room for the rest.
	stepsPropBytes = 60 << 10
	maxStepsBytes  = 12 * stepsPropBytes

	// Numbers: 4 binary properties of 48 KiB per entity (192 KiB, 256 KiB as base64 on
	// the wire), at most 4 entities (1 MiB on the wire) and 100 operations per
	// entity-group transaction, far below its 4 MiB and 100-operation limits.
	numbersPropBytes  = 48 << 10
	numbersPropsPer   = 4
	numbersBatchRows  = 4
	maxBatchOps       = 100
	numbersDigestKeys = 16
)

// Journal implements journal.Store on one table.
type Journal struct {
	table *aztables.Client
	// Now is the clock that decides whether a lock has expired; time.Now by default.
	Now func() time.Time
}

var _ journal.Store = (*Journal)(nil)

// OpenJournal returns the journal on the named table (the checkpoints' table does),
// creating the table if it does not exist.
func OpenJournal(ctx context.Context, svc *aztables.ServiceClient, table string) (*Journal, error) {
	c := svc.NewClient(table)
	if _, err := c.CreateTable(ctx, nil); err != nil && !hasCode(err, aztables.TableAlreadyExists) {
		return nil, azerr.Wrap("create table "+table, err)
	}
	return &Journal{table: c, Now: time.Now}, nil
}

// AttachJournal is the journal on table as it is, for a reader: it creates nothing.
func AttachJournal(svc *aztables.ServiceClient, table string) *Journal {
	return &Journal{table: svc.NewClient(table), Now: time.Now}
}

func journalPK(pair string) string      { return journalPrefix + pair }
func opRow(id string) string            { return "op|" + id }
func manifestRow(id string) string      { return "op|" + id + "|numbers" }
func pendingRow(pair, id string) string { return pair + "|" + id }

func indexRow(created time.Time, id string) string {
	return fmt.Sprintf("ix|%019d|%s", math.MaxInt64-created.UnixNano(), id)
}

func numbersRow(id, digest string, i int) string {
	return fmt.Sprintf("op|%s|numbers|%s|%04d", id, digest[:numbersDigestKeys], i)
}

// stepRecord is a step as stored, in short names: a plan's steps share one entity.
type stepRecord struct {
	Name    string   `json:"n"`
	Status  string   `json:"s"`
	Started string   `json:"b,omitempty"`
	Ended   string   `json:"e,omitempty"`
	Outcome string   `json:"o,omitempty"`
	Changes []string `json:"c,omitempty"`
}

// opEntity is the stored shape of an operation, less its step chunks.
type opEntity struct {
	PartitionKey     string `json:"PartitionKey"`
	RowKey           string `json:"RowKey"`
	ID               string `json:"ID"`
	Pair             string `json:"Pair"`
	Action           string `json:"Action"`
	Target           string `json:"Target"`
	Side             string `json:"Side,omitempty"`
	AlertID          string `json:"AlertID"`
	AlertRule        string `json:"AlertRule"`
	RequestedBy      string `json:"RequestedBy"`
	Reason           string `json:"Reason"`
	Force            bool   `json:"Force"`
	DryRun           bool   `json:"DryRun"`
	Prune            bool   `json:"Prune,omitempty"`
	HasExpectedEpoch bool   `json:"HasExpectedEpoch"`
	Status           string `json:"Status"`
	Created          string `json:"Created"`
	Updated          string `json:"Updated"`
	Done             string `json:"Done"`
	RTOStart         string `json:"RTOStart"`
	Error            string `json:"Error"`
	AttemptUntil     string `json:"AttemptUntil,omitempty"`
	AttemptBy        string `json:"AttemptBy,omitempty"`
	StepsChunks      int    `json:"StepsChunks"`
}

// int64 properties are written as Edm.Int64: a bare JSON number is stored as Int32 or
// Double, which loses a large value.
var opInt64s = []string{"ExpectedEpoch", "RTONs", "LagAtStartNs", "EpochBefore", "EpochAfter"}

func opToEntity(op journal.Operation) ([]byte, error) {
	steps := make([]stepRecord, len(op.Steps))
	for i, s := range op.Steps {
		steps[i] = stepRecord{Name: s.Name, Status: string(s.Status), Started: formatTime(s.Started), Ended: formatTime(s.Ended), Outcome: s.Outcome, Changes: s.Changes}
	}
	blob, err := json.Marshal(steps)
	if err != nil {
		return nil, drerr.E(drerr.Internal, "encode operation "+op.ID, err)
	}
	if len(blob) > maxStepsBytes {
		return nil, drerr.Errorf(drerr.Invalid, "journal", "operation %s: its %d steps take %d bytes stored; the limit is %d", op.ID, len(op.Steps), len(blob), maxStepsBytes)
	}
	chunks := chunkBytes(blob, stepsPropBytes)
	e := opEntity{
		PartitionKey: journalPK(op.Pair), RowKey: opRow(op.ID),
		ID: op.ID, Pair: op.Pair, Action: string(op.Action), Target: op.Target, Side: op.Side,
		AlertID: op.Source.AlertID, AlertRule: op.Source.AlertRule, RequestedBy: op.Source.RequestedBy,
		Reason: op.Reason, Force: op.Force, DryRun: op.DryRun, Prune: op.Prune, HasExpectedEpoch: op.ExpectedEpoch != nil,
		Status: string(op.Status), Created: formatTime(op.Created), Updated: formatTime(op.Updated), Done: formatTime(op.Done),
		RTOStart: formatTime(op.RTOStart), Error: op.Error, AttemptUntil: formatTime(op.AttemptUntil), AttemptBy: op.AttemptBy, StepsChunks: len(chunks),
	}
	base, _ := json.Marshal(e)
	var m map[string]any
	_ = json.Unmarshal(base, &m)
	var expected int64
	if op.ExpectedEpoch != nil {
		expected = *op.ExpectedEpoch
	}
	for name, v := range map[string]int64{"ExpectedEpoch": expected, "RTONs": int64(op.RTO), "LagAtStartNs": int64(op.LagAtStart), "EpochBefore": op.EpochBefore, "EpochAfter": op.EpochAfter} {
		m[name] = strconv.FormatInt(v, 10)
		m[name+"@odata.type"] = "Edm.Int64"
	}
	for i, c := range chunks {
		m[fmt.Sprintf("Steps%d", i)] = base64.StdEncoding.EncodeToString(c)
		m[fmt.Sprintf("Steps%d@odata.type", i)] = "Edm.Binary"
	}
	return json.Marshal(m)
}

func opFromEntity(raw []byte, etag string) (journal.Operation, error) {
	var e opEntity
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil {
		return journal.Operation{}, drerr.E(drerr.Internal, "decode operation", err)
	}
	_ = json.Unmarshal(raw, &fields)
	ints := map[string]int64{}
	for _, name := range opInt64s {
		ints[name] = int64Field(fields[name])
	}
	op := journal.Operation{
		ID: e.ID, Pair: e.Pair, Action: command.Action(e.Action), Target: e.Target, Side: e.Side,
		Source: journal.Source{AlertID: e.AlertID, AlertRule: e.AlertRule, RequestedBy: e.RequestedBy},
		Reason: e.Reason, Force: e.Force, DryRun: e.DryRun, Prune: e.Prune,
		Status: journal.Status(e.Status), Created: parseTime(e.Created), Updated: parseTime(e.Updated), Done: parseTime(e.Done),
		RTOStart: parseTime(e.RTOStart), RTO: time.Duration(ints["RTONs"]), LagAtStart: time.Duration(ints["LagAtStartNs"]),
		EpochBefore: ints["EpochBefore"], EpochAfter: ints["EpochAfter"], Error: e.Error, AttemptUntil: parseTime(e.AttemptUntil), AttemptBy: e.AttemptBy, ETag: etag,
	}
	if e.HasExpectedEpoch {
		v := ints["ExpectedEpoch"]
		op.ExpectedEpoch = &v
	}
	var blob []byte
	for i := range e.StepsChunks {
		var s string
		if err := json.Unmarshal(fields[fmt.Sprintf("Steps%d", i)], &s); err != nil {
			return op, drerr.Errorf(drerr.Internal, "decode operation "+e.ID, "step chunk %d of %d is missing", i, e.StepsChunks)
		}
		part, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return op, drerr.E(drerr.Internal, "decode steps of operation "+e.ID, err)
		}
		blob = append(blob, part...)
	}
	var steps []stepRecord
	if e.StepsChunks > 0 {
		if err := json.Unmarshal(blob, &steps); err != nil {
			return op, drerr.E(drerr.Internal, "decode steps of operation "+e.ID, err)
		}
	}
	for _, s := range steps {
		op.Steps = append(op.Steps, journal.Step{Name: s.Name, Status: journal.StepStatus(s.Status), Started: parseTime(s.Started), Ended: parseTime(s.Ended), Outcome: s.Outcome, Changes: s.Changes})
	}
	return op, nil
}

// int64Field reads an Edm.Int64 (a JSON string) or a plain JSON number.
func int64Field(raw json.RawMessage) int64 {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	}
	var f json.Number
	if json.Unmarshal(raw, &f) == nil {
		if n, err := f.Int64(); err == nil {
			return n
		}
	}
	return 0
}

// Create inserts the operation. The newest-first index entry, and the pending pointer
// when op is running or waiting, are written first, so that neither is ever missing
// for a stored operation; one left behind by a failed insert is recognised and skipped
// when read.
func (j *Journal) Create(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	now := j.Now().UTC()
	if op.Created.IsZero() {
		op.Created = now
	}
	if op.Updated.IsZero() {
		op.Updated = now
	}
	if err := op.Validate(); err != nil {
		return op, err
	}
	raw, err := opToEntity(op)
	if err != nil {
		return op, err
	}
	ix := indexRow(op.Created, op.ID)
	if err := j.upsert(ctx, map[string]any{"PartitionKey": journalPK(op.Pair), "RowKey": ix, "ID": op.ID, "Created": formatTime(op.Created)}); err != nil {
		return op, azerr.Wrap("index operation "+op.ID, err)
	}
	if op.Status.Open() {
		if err := j.markPending(ctx, op); err != nil {
			return op, err
		}
	}
	resp, err := j.table.AddEntity(ctx, raw, nil)
	if err != nil {
		err = azerr.Wrap("create operation "+op.ID+" of "+op.Pair, err)
		if drerr.Is(err, drerr.Conflict) {
			// A redelivered command: drop the index entry this attempt added unless it
			// is the stored operation's own.
			if old, gerr := j.Get(ctx, op.Pair, op.ID); gerr == nil && !old.Created.Equal(op.Created) {
				_, _ = j.table.DeleteEntity(ctx, journalPK(op.Pair), ix, nil)
			}
			return op, drerr.Errorf(drerr.Conflict, "create operation "+op.ID, "operation %s already exists on %s", op.ID, op.Pair)
		}
		return op, err
	}
	op.ETag = string(resp.ETag)
	return op, nil
}

// Get reads one operation with its steps: one point read.
func (j *Journal) Get(ctx context.Context, pair, id string) (journal.Operation, error) {
	resp, err := j.table.GetEntity(ctx, journalPK(pair), opRow(id), nil)
	if err != nil {
		err = azerr.Wrap("get operation "+id+" of "+pair, err)
		if drerr.Is(err, drerr.NotFound) {
			return journal.Operation{}, drerr.Errorf(drerr.NotFound, "get operation "+id, "no operation %s on %s", id, pair)
		}
		return journal.Operation{}, err
	}
	return opFromEntity(resp.Value, string(resp.ETag))
}

// Update replaces the operation with one write conditional on op.ETag (never inside a
// batch: Azurite ignores If-Match there). The pending pointer is added before the
// write and removed after it, so the timer's index always covers what is pending.
func (j *Journal) Update(ctx context.Context, op journal.Operation) (journal.Operation, error) {
	if op.ETag == "" {
		return op, drerr.Errorf(drerr.Invalid, "update operation "+op.ID, "no ETag: read the operation before updating it")
	}
	op.Updated = j.Now().UTC()
	if err := op.Validate(); err != nil {
		return op, err
	}
	raw, err := opToEntity(op)
	if err != nil {
		return op, err
	}
	if op.Status.Open() {
		if err := j.markPending(ctx, op); err != nil {
			return op, err
		}
	}
	match := azcore.ETag(op.ETag)
	resp, err := j.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		err = azerr.Wrap("update operation "+op.ID+" of "+op.Pair, err)
		if drerr.Is(err, drerr.NotFound) {
			return op, drerr.Errorf(drerr.NotFound, "update operation "+op.ID, "no operation %s on %s", op.ID, op.Pair)
		}
		return op, err
	}
	op.ETag = string(resp.ETag)
	if !op.Status.Open() {
		// Best effort: a pointer left behind is dropped by ListPending.
		_ = j.unmarkPending(ctx, op.Pair, op.ID)
	}
	return op, nil
}

func (j *Journal) markPending(ctx context.Context, op journal.Operation) error {
	err := j.upsert(ctx, map[string]any{"PartitionKey": pendingPartition, "RowKey": pendingRow(op.Pair, op.ID), "Pair": op.Pair, "ID": op.ID})
	return azerr.Wrap("mark operation "+op.ID+" pending", err)
}

func (j *Journal) unmarkPending(ctx context.Context, pair, id string) error {
	_, err := j.table.DeleteEntity(ctx, pendingPartition, pendingRow(pair, id), nil)
	if err = azerr.Wrap("unmark operation "+id, err); drerr.Is(err, drerr.NotFound) {
		return nil
	}
	return err
}

func (j *Journal) upsert(ctx context.Context, m map[string]any) error {
	raw, _ := json.Marshal(m)
	_, err := j.table.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return err
}

// List reads the pair's newest-first index and the operations it names. An index
// entry whose operation is missing or has another Created (left by a failed insert)
// is skipped.
func (j *Journal) List(ctx context.Context, pair string, limit int) ([]journal.Operation, error) {
	var out []journal.Operation
	seen := map[string]bool{}
	opts := &aztables.ListEntitiesOptions{Filter: rowRange(journalPK(pair), "ix|", "ix}")}
	if limit > 0 {
		top := int32(min(limit+5, 1000))
		opts.Top = &top
	}
	pager := j.table.NewListEntitiesPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if tableMissing(err) {
			return out, nil // no table yet (a reader's view, see AttachJournal): nothing journaled
		}
		if err != nil {
			return out, azerr.Wrap("list operations of "+pair, err)
		}
		for _, raw := range page.Entities {
			var ix struct{ ID, Created string }
			if json.Unmarshal(raw, &ix) != nil || seen[ix.ID] {
				continue
			}
			op, err := j.Get(ctx, pair, ix.ID)
			if drerr.Is(err, drerr.NotFound) {
				continue
			}
			if err != nil {
				return out, err
			}
			if formatTime(op.Created) != ix.Created {
				continue
			}
			seen[ix.ID] = true
			out = append(out, op)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// ListPending reads the pending pointers of every pair and the operations they name,
// and returns those still open (accepted, running or waiting). A pointer to a finished operation is
// deleted.
func (j *Journal) ListPending(ctx context.Context) ([]journal.Operation, error) {
	var out []journal.Operation
	seen := map[string]bool{}
	filter := fmt.Sprintf("PartitionKey eq '%s'", quote(pendingPartition))
	pager := j.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if tableMissing(err) {
			return out, nil // no table yet (a reader's view, see AttachJournal): nothing journaled
		}
		if err != nil {
			return out, azerr.Wrap("list pending operations", err)
		}
		for _, raw := range page.Entities {
			var p struct{ Pair, ID string }
			if json.Unmarshal(raw, &p) != nil || seen[p.Pair+"|"+p.ID] {
				continue
			}
			seen[p.Pair+"|"+p.ID] = true
			op, err := j.Get(ctx, p.Pair, p.ID)
			switch {
			case drerr.Is(err, drerr.NotFound):
				continue // perhaps being created right now: leave the pointer
			case err != nil:
				return out, err
			case op.Status.Open():
				out = append(out, op)
			case op.Status.Terminal():
				// Never back to pending: the pointer is stale.
				_ = j.unmarkPending(ctx, p.Pair, p.ID)
			}
		}
	}
	return out, nil
}

// ListProposed queries the journal's partitions for operations whose Status is
// proposed: a filter on the property, so it does not depend on how many operations a
// pair has journaled since. There are few proposals, and the timer asks once a tick;
// each is read again by a point read, for its ETag and steps.
func (j *Journal) ListProposed(ctx context.Context) ([]journal.Operation, error) {
	filter := fmt.Sprintf("PartitionKey ge '%s' and PartitionKey lt '%s' and PartitionKey ne '%s' and RowKey ge 'op|' and RowKey lt 'op}' and Status eq '%s'",
		quote(journalPrefix), quote(strings.TrimSuffix(journalPrefix, "|")+"}"), quote(pendingPartition), quote(string(journal.Proposed)))
	sel := "PartitionKey,RowKey,Pair,ID"
	var out []journal.Operation
	seen := map[string]bool{}
	pager := j.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if tableMissing(err) {
			return out, nil // no table yet (a reader's view, see AttachJournal): nothing journaled
		}
		if err != nil {
			return out, azerr.Wrap("list proposed operations", err)
		}
		for _, raw := range page.Entities {
			var p struct{ Pair, ID string }
			if json.Unmarshal(raw, &p) != nil || p.Pair == "" || p.ID == "" || seen[p.Pair+"|"+p.ID] {
				continue // a repeated page (Azurite's continuation gap)
			}
			seen[p.Pair+"|"+p.ID] = true
			op, err := j.Get(ctx, p.Pair, p.ID)
			switch {
			case drerr.Is(err, drerr.NotFound):
				continue
			case err != nil:
				return out, err
			case op.Status == journal.Proposed: // not confirmed since the query
				out = append(out, op)
			}
		}
	}
	slices.SortFunc(out, func(a, b journal.Operation) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// SaveNumbers writes the numbers in chunks under rows named by their digest, in
// entity-group transactions of upserts, then commits them by inserting the manifest.
// Until the manifest exists the numbers are not there; once it does, the same bytes
// again are a no-op and other bytes a conflict. Savers of different numbers write to
// different rows, so a loser never overwrites the winner's chunks.
func (j *Journal) SaveNumbers(ctx context.Context, pair, id string, numbers []byte) error {
	if !command.ValidID(id) || !command.ValidPairName(pair) {
		return drerr.Errorf(drerr.Invalid, "save numbers", "pair %q or operation id %q is not valid", pair, id)
	}
	sum := sha256.Sum256(numbers)
	digest := hex.EncodeToString(sum[:])
	pk := journalPK(pair)
	if m, err := j.manifest(ctx, pair, id); err == nil {
		return sameNumbers(id, m.Digest, digest)
	} else if !drerr.Is(err, drerr.NotFound) {
		return err
	}

	rows := chunkBytes(numbers, numbersPropBytes*numbersPropsPer)
	var batch []aztables.TransactionAction
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := j.table.SubmitTransaction(ctx, batch, nil); err != nil {
			return azerr.Wrap("save numbers of operation "+id, err)
		}
		batch = batch[:0]
		return nil
	}
	for i, row := range rows {
		m := map[string]any{"PartitionKey": pk, "RowKey": numbersRow(id, digest, i+1)}
		for p, part := range chunkBytes(row, numbersPropBytes) {
			m[fmt.Sprintf("Data%d", p)] = base64.StdEncoding.EncodeToString(part)
			m[fmt.Sprintf("Data%d@odata.type", p)] = "Edm.Binary"
		}
		raw, _ := json.Marshal(m)
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: raw})
		if len(batch) == min(numbersBatchRows, maxBatchOps) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	raw, _ := json.Marshal(map[string]any{
		"PartitionKey": pk, "RowKey": manifestRow(id), "Digest": digest, "Chunks": len(rows),
		"Length": strconv.Itoa(len(numbers)), "Length@odata.type": "Edm.Int64",
	})
	if _, err := j.table.AddEntity(ctx, raw, nil); err != nil {
		err = azerr.Wrap("commit numbers of operation "+id, err)
		if !drerr.Is(err, drerr.Conflict) {
			return err
		}
		// Another saver committed first.
		m, merr := j.manifest(ctx, pair, id)
		if merr != nil {
			return merr
		}
		if cerr := sameNumbers(id, m.Digest, digest); cerr != nil {
			j.deleteChunks(ctx, pk, id, digest, len(rows))
			return cerr
		}
	}
	return nil
}

type numbersManifest struct {
	Digest string
	Chunks int
	Length int64
}

func (j *Journal) manifest(ctx context.Context, pair, id string) (numbersManifest, error) {
	resp, err := j.table.GetEntity(ctx, journalPK(pair), manifestRow(id), nil)
	if err != nil {
		err = azerr.Wrap("read numbers of operation "+id, err)
		if drerr.Is(err, drerr.NotFound) {
			return numbersManifest{}, drerr.Errorf(drerr.NotFound, "read numbers", "operation %s on %s has no numbers", id, pair)
		}
		return numbersManifest{}, err
	}
	var m numbersManifest
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(resp.Value, &fields); err != nil {
		return m, drerr.E(drerr.Internal, "decode numbers manifest of operation "+id, err)
	}
	_ = json.Unmarshal(fields["Digest"], &m.Digest)
	_ = json.Unmarshal(fields["Chunks"], &m.Chunks)
	m.Length = int64Field(fields["Length"])
	if len(m.Digest) != 2*sha256.Size {
		return m, drerr.Errorf(drerr.Internal, "decode numbers manifest of operation "+id, "digest %q is not a SHA-256", m.Digest)
	}
	return m, nil
}

func sameNumbers(id, stored, offered string) error {
	if stored == offered {
		return nil
	}
	return drerr.Errorf(drerr.Conflict, "save numbers of operation "+id, "operation %s already has other numbers (sha256 %s…, offered %s…): floors are computed once", id, stored[:12], offered[:12])
}

// deleteChunks removes a losing saver's chunks, best effort: they are never read.
func (j *Journal) deleteChunks(ctx context.Context, pk, id, digest string, n int) {
	var batch []aztables.TransactionAction
	for i := 1; i <= n; i++ {
		raw, _ := json.Marshal(map[string]any{"PartitionKey": pk, "RowKey": numbersRow(id, digest, i)})
		batch = append(batch, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: raw})
		if len(batch) == maxBatchOps || i == n {
			_, _ = j.table.SubmitTransaction(ctx, batch, nil)
			batch = batch[:0]
		}
	}
}

// LoadNumbers reads the manifest, then the chunks it names in row-key order, and
// checks length and digest.
func (j *Journal) LoadNumbers(ctx context.Context, pair, id string) ([]byte, error) {
	m, err := j.manifest(ctx, pair, id)
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("op|%s|numbers|%s|", id, m.Digest[:numbersDigestKeys])
	pager := j.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: rowRange(journalPK(pair), prefix, strings.TrimSuffix(prefix, "|")+"}")})
	out := bytes.NewBuffer(make([]byte, 0, m.Length))
	next := 1
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Wrap("load numbers of operation "+id, err)
		}
		for _, raw := range page.Entities {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(raw, &fields); err != nil {
				return nil, drerr.E(drerr.Internal, "decode numbers of operation "+id, err)
			}
			var rk string
			_ = json.Unmarshal(fields["RowKey"], &rk)
			i, _ := strconv.Atoi(strings.TrimPrefix(rk, prefix))
			if i < next {
				continue // a page repeated (Azurite's continuation gap)
			}
			if i != next {
				return nil, drerr.Errorf(drerr.Internal, "load numbers of operation "+id, "chunk %d is missing", next)
			}
			for p := 0; ; p++ {
				v, ok := fields[fmt.Sprintf("Data%d", p)]
				if !ok {
					break
				}
				var b64 string
				_ = json.Unmarshal(v, &b64)
				part, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return nil, drerr.E(drerr.Internal, "decode numbers of operation "+id, err)
				}
				out.Write(part)
			}
			next++
		}
	}
	sum := sha256.Sum256(out.Bytes())
	if next-1 != m.Chunks || int64(out.Len()) != m.Length || hex.EncodeToString(sum[:]) != m.Digest {
		return nil, drerr.Errorf(drerr.Internal, "load numbers of operation "+id, "read %d chunks, %d bytes that do not match the manifest (%d chunks, %d bytes)", next-1, out.Len(), m.Chunks, m.Length)
	}
	return out.Bytes(), nil
}

// lockEntity is the stored shape of a pair's lock. Holder "" is a released lock.
type lockEntity struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	Holder       string `json:"Holder"`
	Until        string `json:"Until"`
}

// Lock takes the pair's lock for opID: an insert when there is no lock entity, else a
// replace conditional on the ETag read, so of two racing takers one wins.
func (j *Journal) Lock(ctx context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	return j.takeLock(ctx, pair, opID, until, false)
}

// Renew extends opID's hold: as Lock, but only for the holder.
func (j *Journal) Renew(ctx context.Context, pair, opID string, until time.Time) (journal.Lock, error) {
	return j.takeLock(ctx, pair, opID, until, true)
}

func (j *Journal) takeLock(ctx context.Context, pair, opID string, until time.Time, renew bool) (journal.Lock, error) {
	if !command.ValidID(opID) || !command.ValidPairName(pair) {
		return journal.Lock{}, drerr.Errorf(drerr.Invalid, "lock", "pair %q or operation id %q is not valid", pair, opID)
	}
	want := journal.Lock{Pair: pair, OpID: opID, Until: until.UTC()}
	raw, _ := json.Marshal(lockEntity{PartitionKey: journalPK(pair), RowKey: rowLock, Holder: opID, Until: formatTime(until)})
	var last error
	for range 3 { // a lost race re-reads and decides again
		cur, etag, err := j.readLock(ctx, pair)
		switch {
		case drerr.Is(err, drerr.NotFound) && renew:
			return journal.Lock{}, drerr.Errorf(drerr.NotFound, "renew lock of "+pair, "operation %s does not hold the lock: nobody does", opID)
		case drerr.Is(err, drerr.NotFound):
			if _, err := j.table.AddEntity(ctx, raw, nil); err != nil {
				if last = azerr.Wrap("lock "+pair, err); drerr.Is(last, drerr.Conflict) {
					continue
				}
				return journal.Lock{}, last
			}
			return want, nil
		case err != nil:
			return journal.Lock{}, err
		}
		free := cur.OpID == "" || !cur.Until.After(j.Now())
		switch {
		case renew && cur.OpID == "":
			return journal.Lock{}, drerr.Errorf(drerr.NotFound, "renew lock of "+pair, "operation %s does not hold the lock: nobody does", opID)
		case renew && cur.OpID != opID:
			return journal.Lock{}, held(pair, cur, "renew lock of "+pair)
		case cur.OpID != opID && !free:
			return journal.Lock{}, held(pair, cur, "lock "+pair)
		}
		match := azcore.ETag(etag)
		if _, err := j.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace}); err != nil {
			if last = azerr.Wrap("lock "+pair, err); drerr.Is(last, drerr.Conflict) || drerr.Is(last, drerr.NotFound) {
				continue
			}
			return journal.Lock{}, last
		}
		return want, nil
	}
	if cur, _, err := j.readLock(ctx, pair); err == nil && cur.OpID != opID {
		return journal.Lock{}, held(pair, cur, "lock "+pair)
	}
	return journal.Lock{}, last
}

// Unlock releases the lock, conditional on the ETag read, if opID holds it.
func (j *Journal) Unlock(ctx context.Context, pair, opID string) error {
	cur, etag, err := j.readLock(ctx, pair)
	switch {
	case drerr.Is(err, drerr.NotFound):
		return nil
	case err != nil:
		return err
	case cur.OpID == "":
		return nil
	case cur.OpID != opID:
		return held(pair, cur, "unlock "+pair)
	}
	raw, _ := json.Marshal(lockEntity{PartitionKey: journalPK(pair), RowKey: rowLock})
	match := azcore.ETag(etag)
	if _, err := j.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace}); err != nil {
		// A conflict here means the lock changed hands since it was read: it was ours
		// and expired. Say who has it now.
		if err = azerr.Wrap("unlock "+pair, err); drerr.Is(err, drerr.Conflict) {
			if now, _, rerr := j.readLock(ctx, pair); rerr == nil && now.OpID != opID {
				return held(pair, now, "unlock "+pair)
			}
		}
		return err
	}
	return nil
}

func (j *Journal) readLock(ctx context.Context, pair string) (journal.Lock, string, error) {
	resp, err := j.table.GetEntity(ctx, journalPK(pair), rowLock, nil)
	if err != nil {
		return journal.Lock{}, "", azerr.Wrap("read lock of "+pair, err)
	}
	var e lockEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return journal.Lock{}, "", drerr.E(drerr.Internal, "decode lock of "+pair, err)
	}
	return journal.Lock{Pair: pair, OpID: e.Holder, Until: parseTime(e.Until)}, string(resp.ETag), nil
}

func held(pair string, l journal.Lock, op string) error {
	l.Pair = pair
	return journal.Held(op, l)
}

func rowRange(pk, from, to string) *string {
	f := fmt.Sprintf("PartitionKey eq '%s' and RowKey ge '%s' and RowKey lt '%s'", quote(pk), quote(from), quote(to))
	return &f
}

func quote(s string) string { return strings.ReplaceAll(s, "'", "''") }

func chunkBytes(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}

// SaveSnapshot replaces one of the pair's named snapshots: one binary property.
func (j *Journal) SaveSnapshot(ctx context.Context, pair, name string, data []byte) error {
	if len(data) > journal.MaxSnapshot {
		return drerr.Errorf(drerr.Invalid, "save readiness snapshot of "+pair, "%d bytes; the limit is %d", len(data), journal.MaxSnapshot)
	}
	err := j.upsert(ctx, map[string]any{"PartitionKey": journalPK(pair), "RowKey": rowSnapshot + name,
		"Data": base64.StdEncoding.EncodeToString(data), "Data@odata.type": "Edm.Binary"})
	return azerr.Wrap("save readiness snapshot of "+pair, err)
}

// LoadSnapshot returns one of the pair's named snapshots; drerr.NotFound if none.
func (j *Journal) LoadSnapshot(ctx context.Context, pair, name string) ([]byte, error) {
	resp, err := j.table.GetEntity(ctx, journalPK(pair), rowSnapshot+name, nil)
	if err != nil {
		return nil, azerr.Wrap("load readiness snapshot of "+pair, err)
	}
	var e struct{ Data string }
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, drerr.E(drerr.Internal, "decode readiness snapshot of "+pair, err)
	}
	data, err := base64.StdEncoding.DecodeString(e.Data)
	if err != nil {
		return nil, drerr.E(drerr.Internal, "decode readiness snapshot of "+pair, err)
	}
	return data, nil
}
