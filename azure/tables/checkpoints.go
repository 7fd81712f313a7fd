// Package tables keeps replication checkpoints and active-region records in Azure
// Table Storage. Both live in one partition per pair, so a run reads its whole state
// with one query, and checkpoint writes are conditional on the ETag read.
package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
}

var _ replication.Store = (*Store)(nil)

// Open returns a store on the named table, creating the table if it does not exist.
func Open(ctx context.Context, svc *aztables.ServiceClient, table string) (*Store, error) {
	c := svc.NewClient(table)
	if _, err := c.CreateTable(ctx, nil); err != nil && !hasCode(err, aztables.TableAlreadyExists) {
		return nil, azerr.Wrap("create table "+table, err)
	}
	return &Store{table: c}, nil
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
	SyncedThrough  string `json:"SyncedThrough,omitempty"`
	LeaseOwner     string `json:"LeaseOwner"`
	LeaseUntil     string `json:"LeaseUntil"`
	Runs           int64  `json:"Runs"`
	Writes         int64  `json:"Writes"`
	LastRun        string `json:"LastRun,omitempty"`
	LastWrites     int64  `json:"LastWrites"`
	LastListed     int64  `json:"LastListed"`
	LastError      string `json:"LastError"`
	LastDurationMs int64  `json:"LastDurationMs"`
	RecentChunks   int    `json:"RecentChunks"`
}

// Load reads the pair's partition: its checkpoint and active-region record.
func (s *Store) Load(ctx context.Context, pair string) (replication.Checkpoint, replication.ActiveRegion, error) {
	cp := replication.Checkpoint{Pair: pair}
	region := replication.ActiveRegion{Active: replication.Primary}
	filter := fmt.Sprintf("PartitionKey eq '%s'", strings.ReplaceAll(pair, "'", "''"))
	pager := s.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
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
				region.Epoch = e.Epoch
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

// SetActiveRegion writes the pair's active-region record unconditionally. Failover
// owns this record; tests and operators use this to set it.
func (s *Store) SetActiveRegion(ctx context.Context, pair string, r replication.ActiveRegion) error {
	raw, _ := json.Marshal(entity{PartitionKey: pair, RowKey: rowActiveRegion, Active: string(r.Active), Epoch: r.Epoch})
	_, err := s.table.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return azerr.Wrap("set active region of "+pair, err)
}

func toEntity(cp replication.Checkpoint) ([]byte, error) {
	e := entity{
		PartitionKey:   cp.Pair,
		RowKey:         rowCheckpoint,
		Epoch:          cp.Epoch,
		Watermark:      formatTime(cp.Watermark),
		SyncedThrough:  formatTime(cp.SyncedThrough),
		LeaseOwner:     cp.LeaseOwner,
		LeaseUntil:     formatTime(cp.LeaseUntil),
		Runs:           cp.Runs,
		Writes:         cp.Writes,
		LastRun:        formatTime(cp.LastRun),
		LastWrites:     cp.LastWrites,
		LastListed:     cp.LastListed,
		LastError:      truncate(cp.LastError, 4000),
		LastDurationMs: cp.LastDuration.Milliseconds(),
	}
	recent := make(map[string]string, len(cp.Recent))
	for name, t := range cp.Recent {
		recent[name] = formatTime(t)
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
	return json.Marshal(m)
}

func fromEntity(pair string, e entity, fields map[string]any) replication.Checkpoint {
	cp := replication.Checkpoint{
		Pair:          pair,
		Epoch:         e.Epoch,
		Watermark:     parseTime(e.Watermark),
		SyncedThrough: parseTime(e.SyncedThrough),
		LeaseOwner:    e.LeaseOwner,
		LeaseUntil:    parseTime(e.LeaseUntil),
		Runs:          e.Runs,
		Writes:        e.Writes,
		LastRun:       parseTime(e.LastRun),
		LastWrites:    e.LastWrites,
		LastListed:    e.LastListed,
		LastError:     e.LastError,
		LastDuration:  time.Duration(e.LastDurationMs) * time.Millisecond,
		ETag:          e.ETag,
		Recent:        map[string]time.Time{},
	}
	var blob strings.Builder
	for i := range e.RecentChunks {
		s, _ := fields[fmt.Sprintf("Recent%d", i)].(string)
		blob.WriteString(s)
	}
	var recent map[string]string
	if json.Unmarshal([]byte(blob.String()), &recent) == nil {
		for name, t := range recent {
			cp.Recent[name] = parseTime(t)
		}
	}
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
