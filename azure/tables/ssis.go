package tables

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/ssis"
)

// SSIS keeps each SSIS pair's reconcile state in the journal's table:
//
//	PartitionKey "ssis|<pair>"   RowKey "state"   Data0..DataN-1 (Edm.Binary): the state as JSON
//
// Save is an insert when the caller read no ETag, else a replace conditional on it:
// of two passes racing on one pair, one wins and the other learns it.
type SSIS struct {
	table *aztables.Client
}

var _ ssis.Store = (*SSIS)(nil)

// maxSSISBytes bounds a stored state: four 60 KiB properties. A state is a few KiB; a
// report listing hundreds of triggers is cut, not refused.
const maxSSISBytes = 4 * stepsPropBytes

// OpenSSIS returns the SSIS state store on the journal's table (already created).
func OpenSSIS(j *Journal) *SSIS { return &SSIS{table: j.table} }

func ssisPK(pair string) string { return "ssis|" + pair }

// Load returns the pair's state, or a zero one with no ETag.
func (s *SSIS) Load(ctx context.Context, pair string) (ssis.State, error) {
	resp, err := s.table.GetEntity(ctx, ssisPK(pair), "state", nil)
	if err != nil {
		if err = azerr.Wrap("load SSIS state of "+pair, err); drerr.Is(err, drerr.NotFound) {
			return ssis.State{Pair: pair}, nil
		}
		return ssis.State{}, err
	}
	var e struct{ Chunks int }
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return ssis.State{}, drerr.E(drerr.Internal, "decode SSIS state of "+pair, err)
	}
	_ = json.Unmarshal(resp.Value, &fields)
	var blob []byte
	for i := range e.Chunks {
		var b64 string
		if err := json.Unmarshal(fields[fmt.Sprintf("Data%d", i)], &b64); err != nil {
			return ssis.State{}, drerr.Errorf(drerr.Internal, "decode SSIS state of "+pair, "chunk %d of %d is missing", i, e.Chunks)
		}
		part, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return ssis.State{}, drerr.E(drerr.Internal, "decode SSIS state of "+pair, err)
		}
		blob = append(blob, part...)
	}
	var st ssis.State
	if err := json.Unmarshal(blob, &st); err != nil {
		return ssis.State{}, drerr.E(drerr.Internal, "decode SSIS state of "+pair, err)
	}
	st.Pair, st.ETag = pair, string(resp.ETag)
	return st, nil
}

// Save stores st conditional on st.ETag and returns it with the new one.
func (s *SSIS) Save(ctx context.Context, st ssis.State) (ssis.State, error) {
	op := "save SSIS state of " + st.Pair
	blob, err := json.Marshal(st)
	if err != nil {
		return st, drerr.E(drerr.Internal, op, err)
	}
	for len(blob) > maxSSISBytes && len(st.Last.Changes)+len(st.Last.Problems) > 0 {
		// The report is for reading; the pending operations must be kept whole.
		st.Last.Changes = st.Last.Changes[:len(st.Last.Changes)/2]
		st.Last.Problems = st.Last.Problems[:len(st.Last.Problems)/2]
		blob, _ = json.Marshal(st)
	}
	if len(blob) > maxSSISBytes {
		return st, drerr.Errorf(drerr.Invalid, op, "%d bytes; the limit is %d", len(blob), maxSSISBytes)
	}
	m := map[string]any{"PartitionKey": ssisPK(st.Pair), "RowKey": "state"}
	chunks := chunkBytes(blob, stepsPropBytes)
	m["Chunks"] = len(chunks)
	for i, c := range chunks {
		m[fmt.Sprintf("Data%d", i)] = base64.StdEncoding.EncodeToString(c)
		m[fmt.Sprintf("Data%d@odata.type", i)] = "Edm.Binary"
	}
	raw, _ := json.Marshal(m)
	var etag azcore.ETag
	if st.ETag == "" {
		resp, err := s.table.AddEntity(ctx, raw, nil)
		if err != nil {
			return st, azerr.Wrap(op, err)
		}
		etag = resp.ETag
	} else {
		match := azcore.ETag(st.ETag)
		resp, err := s.table.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
		if err != nil {
			err = azerr.Wrap(op, err)
			if drerr.Is(err, drerr.NotFound) {
				err = drerr.Errorf(drerr.Conflict, op, "the state was removed since it was read")
			}
			return st, err
		}
		etag = resp.ETag
	}
	st.ETag = string(etag)
	return st, nil
}
