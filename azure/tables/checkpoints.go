// Package tables keeps replication checkpoints and active-region records in Azure
// Table Storage. Both live in one partition per pair, so a run reads its whole state
// with one query, and checkpoint writes are conditional on the ETag read.
package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/replication"
)

const (
	rowCheckpoint   = "checkpoint-sessions"
	rowActiveRegion = "active-region"
	// A string property holds at most 64 KiB; the overlap memory is split across
	// properties well below that.
	recentChunk = 24 << 10
	maxChunks   = 16
)

// Store implements replication.Store on one table.
type Store struct {
	table *aztables.Client
	// readOnly: never create the table (Attach).
	readOnly bool
}

var _ replication.Store = (*Store)(nil)

// DevelopmentStorage is the connection string the Functions tools accept for the local
// emulator; aztables does not parse it, so it is expanded to Azurite's well-known
// account and table endpoint.
const (
	DevelopmentStorage  = "UseDevelopmentStorage=true"
	azuriteWellKnownKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	azuriteTables       = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + azuriteWellKnownKey + ";TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)

// NewServiceClient builds the Table Storage client from the app's settings: a
// connection string (UseDevelopmentStorage=true included), or else the table service
// URL reached with cred.
func NewServiceClient(connectionString, serviceURL string, cred azcore.TokenCredential, opts *aztables.ClientOptions) (*aztables.ServiceClient, error) {
	if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(connectionString), ";")), DevelopmentStorage) {
		connectionString = azuriteTables
	}
	if connectionString != "" {
		svc, err := aztables.NewServiceClientFromConnectionString(connectionString, opts)
		if err != nil {
			// The error may quote the string, and the string holds a key: say only what is wrong.
			return nil, drerr.Errorf(drerr.Invalid, "table storage", "the storage connection string is not valid")
		}
		return svc, nil
	}
	svc, err := aztables.NewServiceClient(serviceURL, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "table storage", err)
	}
	return svc, nil
}

// Open returns a store on the named table, creating the table if it does not exist.
func Open(ctx context.Context, svc *aztables.ServiceClient, table string) (*Store, error) {
	c := svc.NewClient(table)
	if _, err := c.CreateTable(ctx, nil); err != nil && !hasCode(err, aztables.TableAlreadyExists) {
		return nil, azerr.Wrap("create table "+table, err)
	}
	return &Store{table: c}, nil
}

// Attach is the store on table as it is, for a reader: it creates nothing, now or when
// the table is missing (then there is no state yet), for a reader's role (Storage
// Table Data Reader) may not create tables.
func Attach(svc *aztables.ServiceClient, table string) *Store {
	return &Store{table: svc.NewClient(table), readOnly: true}
}

// Ping reads at most one entity (a missing table is no error: no state yet): whether
// the endpoint answers and lets this identity read, before anything else is read.
func (s *Store) Ping(ctx context.Context) error {
	top := int32(1)
	pager := s.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Top: &top})
	if _, err := pager.NextPage(ctx); err != nil && !tableMissing(err) {
		return azerr.Wrap("read table", err)
	}
	return nil
}

func hasCode(err error, code aztables.TableErrorCode) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == string(code)
}

func tableMissing(err error) bool { return hasCode(err, aztables.TableNotFound) }

// entity is the stored shape of a checkpoint and of an active-region record.
type entity struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	ETag         string `json:"odata.etag,omitempty"`

	// active-region
	Active string `json:"Active,omitempty"`
	Epoch  int64  `json:"Epoch"`

	// checkpoint
	Watermark      string `json:"Watermark,omitempty"`
	ScanKind       string `json:"ScanKind"`
	ScanSince      string `json:"ScanSince"`
	ScanCursor     string `json:"ScanCursor"`
	ScanStartedAt  string `json:"ScanStartedAt"`
	ScanListed     int64  `json:"ScanListed"`
	ScanWrites     int64  `json:"ScanWrites"`
	ScanNoDigest   bool   `json:"ScanNoDigest"`
	RecKind        string `json:"RecKind"`
	RecCursor      string `json:"RecCursor"`
	RecStartedAt   string `json:"RecStartedAt"`
	RecListed      int64  `json:"RecListed"`
	RecWrites      int64  `json:"RecWrites"`
	RecNoDigest    bool   `json:"RecNoDigest"`
	FencePending   string `json:"FencePending"`
	MBKind         string `json:"MBKind"`
	MBCursor       string `json:"MBCursor"`
	MBStartedAt    string `json:"MBStartedAt"`
	MBListed       int64  `json:"MBListed"`
	MBWrites       int64  `json:"MBWrites"`
	ClockOffsetMs  int64  `json:"ClockOffsetMs"`
	LastReconciled string `json:"LastReconciled"`
	LastHealed     int64  `json:"LastHealed"`
	FutureStamped  int64  `json:"FutureStamped"`
	LeaseOwner     string `json:"LeaseOwner"`
	LeaseUntil     string `json:"LeaseUntil"`
	Runs           int64  `json:"Runs"`
	Writes         int64  `json:"Writes"`
	LastRun        string `json:"LastRun,omitempty"`
	LastWrites     int64  `json:"LastWrites"`
	LastListed     int64  `json:"LastListed"`
	LastError      string `json:"LastError"`
	LastDurationMs int64  `json:"LastDurationMs"`
	LastSuccess    string `json:"LastSuccess,omitempty"`
	History        string `json:"History,omitempty"`   // JSON, at most HistoryLen samples
	Rollovers      string `json:"Rollovers,omitempty"` // JSON: lower-case session name → number rolled over from
	RecentChunks   int    `json:"RecentChunks"`
	RatesChunks    int    `json:"RatesChunks"`
}

// Load reads the pair's partition: its checkpoint and active-region record.
func (s *Store) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	cp := replication.Checkpoint{Pair: pair}
	region := replication.ActiveRegion{Active: replication.Primary}
	filter := fmt.Sprintf("PartitionKey eq '%s'", strings.ReplaceAll(pair, "'", "''"))
	pager := s.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if tableMissing(err) && s.readOnly {
			return cp, region, nil // nothing has run yet
		}
		if tableMissing(err) {
			// The table was deleted under us: start the stream afresh (a full sync
			// is always correct) rather than stop replicating.
			if _, err := s.table.CreateTable(ctx, nil); err != nil && !hasCode(err, aztables.TableAlreadyExists) {
				return cp, region, azerr.Wrap("recreate table", err)
			}
			return cp, region, nil
		}
		if err != nil {
			return cp, region, azerr.Wrap("load state of "+pair, err)
		}
		for _, raw := range page.Entities {
			var e entity
			if err := json.Unmarshal(raw, &e); err != nil {
				return cp, region, drerr.E(drerr.Internal, "decode state of "+pair, err)
			}
			switch e.RowKey {
			case rowActiveRegion:
				region.Epoch, region.ETag = e.Epoch, e.ETag
				if e.Active == string(replication.Secondary) {
					region.Active = replication.Secondary
				}
			case rowCheckpoint:
				var fields map[string]any
				_ = json.Unmarshal(raw, &fields)
				cp = fromEntity(pair, e, fields)
			}
		}
	}
	return cp, region, nil
}

// Save writes the checkpoint: an insert when it has no ETag, otherwise a replace
// conditional on it. Either way a lost race comes back as drerr.Conflict.
func (s *Store) Save(ctx context.Context, cp replication.Checkpoint) (replication.Checkpoint, error) {
	raw, err := toEntity(cp)
	if err != nil {
		return cp, err
	}
	var etag azcore.ETag
	if cp.ETag == "" {
		resp, err := s.table.AddEntity(ctx, raw, nil)
		if err != nil {
			return cp, azerr.Wrap("create checkpoint of "+cp.Pair, err)
		}
		etag = resp.ETag
	} else {
		match := azcore.ETag(cp.ETag)
		resp, err := s.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			return cp, azerr.Wrap("update checkpoint of "+cp.Pair, err)
		}
		etag = resp.ETag
	}
	cp.ETag = string(etag)
	return cp, nil
}

// SetActiveRegion replaces the pair's active-region record if it still has r.ETag
// (an empty ETag: only if there is none yet), so that a failover and anything else
// changing the direction cannot both win.
func (s *Store) SetActiveRegion(ctx context.Context, pair string, r replication.ActiveRegion) (replication.ActiveRegion, error) {
	raw, _ := json.Marshal(entity{PartitionKey: pair, RowKey: rowActiveRegion, Active: string(r.Active), Epoch: r.Epoch})
	var etag azcore.ETag
	if r.ETag == "" {
		resp, err := s.table.AddEntity(ctx, raw, nil)
		if err != nil {
			return r, azerr.Wrap("create active region of "+pair, err)
		}
		etag = resp.ETag
	} else {
		match := azcore.ETag(r.ETag)
		resp, err := s.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			return r, azerr.Wrap("update active region of "+pair, err)
		}
		etag = resp.ETag
	}
	r.ETag = string(etag)
	return r, nil
}

func toEntity(cp replication.Checkpoint) ([]byte, error) {
	e := entity{
		PartitionKey:   cp.Pair,
		RowKey:         rowCheckpoint,
		Epoch:          cp.Epoch,
		Watermark:      formatTime(cp.Watermark),
		ScanKind:       string(cp.Scan.Kind),
		ScanSince:      formatTime(cp.Scan.Since),
		ScanCursor:     cp.Scan.Cursor,
		ScanStartedAt:  formatTime(cp.Scan.StartedAt),
		ScanListed:     cp.Scan.Listed,
		ScanWrites:     cp.Scan.Writes,
		ScanNoDigest:   cp.Scan.NoDigest,
		RecKind:        string(cp.Reconcile.Kind),
		RecCursor:      cp.Reconcile.Cursor,
		RecStartedAt:   formatTime(cp.Reconcile.StartedAt),
		RecListed:      cp.Reconcile.Listed,
		RecWrites:      cp.Reconcile.Writes,
		RecNoDigest:    cp.Reconcile.NoDigest,
		FencePending:   cp.FencePending,
		MBKind:         string(cp.MergeBack.Kind),
		MBCursor:       cp.MergeBack.Cursor,
		MBStartedAt:    formatTime(cp.MergeBack.StartedAt),
		MBListed:       cp.MergeBack.Listed,
		MBWrites:       cp.MergeBack.Writes,
		ClockOffsetMs:  cp.ClockOffset.Milliseconds(),
		LastReconciled: formatTime(cp.LastReconciled),
		LastHealed:     cp.LastHealed,
		FutureStamped:  cp.FutureStamped,
		LeaseOwner:     cp.LeaseOwner,
		LeaseUntil:     formatTime(cp.LeaseUntil),
		Runs:           cp.Runs,
		Writes:         cp.Writes,
		LastRun:        formatTime(cp.LastRun),
		LastWrites:     cp.LastWrites,
		LastListed:     cp.LastListed,
		LastError:      truncate(cp.LastError, 4000),
		LastDurationMs: cp.LastDuration.Milliseconds(),
		LastSuccess:    formatTime(cp.LastSuccess),
		History:        history(cp.History),
	}
	if len(cp.Rollovers) > 0 {
		raw, _ := json.Marshal(cp.Rollovers)
		e.Rollovers = string(raw)
	}
	// Compact: name → [content digest, changedTime in Unix milliseconds]. Milliseconds
	// round down, which only keeps an entry a little longer.
	recent := make(map[string][2]any, len(cp.Recent))
	for name, seen := range cp.Recent {
		recent[name] = [2]any{strconv.FormatUint(seen.Digest, 36), seen.Changed.UnixMilli()}
	}
	blob, err := json.Marshal(recent)
	if err != nil {
		return nil, drerr.E(drerr.Internal, "encode checkpoint", err)
	}
	chunks := chunk(string(blob), recentChunk)
	if len(chunks) > maxChunks {
		// Too much to remember: forget it all. The next run reads the standby for
		// those sessions instead, which costs reads but never correctness.
		chunks = chunk("{}", recentChunk)
	}
	e.RecentChunks = len(chunks)
	rates := encodeRates(cp.Rates)
	e.RatesChunks = len(rates)
	base, err := json.Marshal(e)
	if err != nil {
		return nil, drerr.E(drerr.Internal, "encode checkpoint", err)
	}
	var m map[string]any
	_ = json.Unmarshal(base, &m)
	delete(m, "odata.etag")
	for i, c := range chunks {
		m[fmt.Sprintf("Recent%d", i)] = c
	}
	for i, c := range rates {
		m[fmt.Sprintf("Rates%d", i)] = c
	}
	return json.Marshal(m)
}

// maxRateChunks bounds the observed rates' share of the entity.
const maxRateChunks = 12

// history encodes the run samples; the checkpoint's samples are bounded, and a
// sample is about 80 bytes, far below a property's 64 KiB.
func history(h []replication.RunSample) string {
	if len(h) == 0 {
		return ""
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// encodeRates stores name → numbers per second in chunks; past the bound it keeps
// the fastest sessions, whose margins matter most.
func encodeRates(rates map[string]float64) []string {
	if len(rates) == 0 {
		return nil
	}
	names := make([]string, 0, len(rates))
	for name := range rates {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return rates[names[i]] > rates[names[j]] })
	for {
		m := make(map[string]float64, len(names))
		for _, n := range names {
			m[n] = rates[n]
		}
		blob, _ := json.Marshal(m)
		if c := chunk(string(blob), recentChunk); len(c) <= maxRateChunks {
			return c
		}
		names = names[:len(names)*3/4]
	}
}

func fromEntity(pair string, e entity, fields map[string]any) replication.Checkpoint {
	cp := replication.Checkpoint{
		Pair:      pair,
		Epoch:     e.Epoch,
		Watermark: parseTime(e.Watermark),
		Scan: replication.Scan{
			Kind: replication.ScanKind(e.ScanKind), Since: parseTime(e.ScanSince), Cursor: e.ScanCursor,
			StartedAt: parseTime(e.ScanStartedAt), Listed: e.ScanListed, Writes: e.ScanWrites, NoDigest: e.ScanNoDigest,
		},
		Reconcile: replication.Scan{
			Kind: replication.ScanKind(e.RecKind), Cursor: e.RecCursor, StartedAt: parseTime(e.RecStartedAt),
			Listed: e.RecListed, Writes: e.RecWrites, NoDigest: e.RecNoDigest,
		},
		FencePending: e.FencePending,
		MergeBack: replication.Scan{
			Kind: replication.ScanKind(e.MBKind), Cursor: e.MBCursor, StartedAt: parseTime(e.MBStartedAt),
			Listed: e.MBListed, Writes: e.MBWrites,
		},
		ClockOffset:    time.Duration(e.ClockOffsetMs) * time.Millisecond,
		LastReconciled: parseTime(e.LastReconciled),
		LastHealed:     e.LastHealed,
		FutureStamped:  e.FutureStamped,
		LeaseOwner:     e.LeaseOwner,
		LeaseUntil:     parseTime(e.LeaseUntil),
		Runs:           e.Runs,
		Writes:         e.Writes,
		LastRun:        parseTime(e.LastRun),
		LastWrites:     e.LastWrites,
		LastListed:     e.LastListed,
		LastError:      e.LastError,
		LastDuration:   time.Duration(e.LastDurationMs) * time.Millisecond,
		LastSuccess:    parseTime(e.LastSuccess),
		ETag:           e.ETag,
		Recent:         map[string]replication.Seen{},
	}
	if e.History != "" {
		_ = json.Unmarshal([]byte(e.History), &cp.History) // a damaged chart is no reason to stop
	}
	if e.Rollovers != "" {
		_ = json.Unmarshal([]byte(e.Rollovers), &cp.Rollovers)
	}
	var blob strings.Builder
	for i := range e.RecentChunks {
		s, _ := fields[fmt.Sprintf("Recent%d", i)].(string)
		blob.WriteString(s)
	}
	// An entry of another shape (an older version's) is dropped: forgetting costs a
	// standby read, never correctness.
	var recent map[string][2]json.RawMessage
	_ = json.Unmarshal([]byte(blob.String()), &recent)
	for name, v := range recent {
		var digest string
		var ms int64
		if json.Unmarshal(v[0], &digest) != nil || json.Unmarshal(v[1], &ms) != nil {
			continue
		}
		if d, err := strconv.ParseUint(digest, 36, 64); err == nil {
			cp.Recent[name] = replication.Seen{Digest: d, Changed: time.UnixMilli(ms).UTC()}
		}
	}
	var rates strings.Builder
	for i := range e.RatesChunks {
		s, _ := fields[fmt.Sprintf("Rates%d", i)].(string)
		rates.WriteString(s)
	}
	_ = json.Unmarshal([]byte(rates.String()), &cp.Rates)
	return cp
}

func chunk(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // never split a character across two properties
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
