package overview_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

type streamsOf struct {
	streams []replication.StreamStatus
	err     error
}

func (s streamsOf) Status(context.Context) ([]replication.StreamStatus, error) {
	return s.streams, s.err
}

type journalOf []journal.Operation

func (j journalOf) List(context.Context, string, int) ([]journal.Operation, error) { return j, nil }
func (j journalOf) ListPending(context.Context) ([]journal.Operation, error)       { return j, nil }

type ssisOf []ssis.PairStatus

func (s ssisOf) Status(context.Context) ([]ssis.PairStatus, error) { return s, nil }

// Each pair the streams could not be read for is its own problem, named; the others
// are kept.
func TestCollectListsEachUnreadablePair(t *testing.T) {
	err := errors.Join(errors.New("pair b: bad entity"), errors.New("pair c: query failed"))
	o := overview.Collect(context.Background(), overview.Sources{Streams: streamsOf{streams: []replication.StreamStatus{{Pair: "a"}}, err: err}}, "")
	want := []string{"replication status: pair b: bad entity", "replication status: pair c: query failed"}
	if fmt.Sprint(o.Problems) != fmt.Sprint(want) || len(o.Streams) != 1 {
		t.Errorf("problems %q, %d streams; want %q and stream a", o.Problems, len(o.Streams), want)
	}
	// One error wrapping two, with words of its own, is kept whole.
	err = fmt.Errorf("read %w after %w", errors.New("x"), errors.New("y"))
	o = overview.Collect(context.Background(), overview.Sources{Streams: streamsOf{err: err}}, "")
	if len(o.Problems) != 1 || o.Problems[0] != "replication status: read x after y" {
		t.Errorf("problems %q", o.Problems)
	}
}

// Every free-text field comes back masked, whoever reads the overview (the page,
// its JSON, drctl status), and what the sources returned is left as it was.
func TestCollectMasksFreeText(t *testing.T) {
	const secret = "Zm9vYmFyc2VjcmV0"
	leak := "GET https://host/x?sv=2022&sig=" + secret + ": 403"
	op := journal.Operation{ID: "op-1", Pair: "a", Reason: leak, Error: leak,
		Steps: []journal.Step{{Name: "s", Outcome: leak, Changes: []string{leak}}}}
	ops := journalOf{op}
	pairs := ssisOf{{Report: ssis.Report{Pair: "s", Unknown: leak, Reading: []string{leak}, Changes: []string{leak}, Problems: []string{leak},
		Sides: map[ssis.Side]ssis.SideReport{ssis.SidePrimary: {InFlight: leak, Agent: leak}}}, InFlight: []string{leak}}}
	streams := streamsOf{streams: []replication.StreamStatus{{Pair: "a", LastError: leak}}, err: errors.New(leak)}
	src := overview.Sources{
		Streams:   streams,
		Readiness: readinessOf{"a": {Pair: "a", Checks: []failover.Check{{Name: "c", Why: leak}}, Bumps: []string{leak}, Notes: []string{leak}}},
		Journal:   ops, SSIS: pairs, Pairs: []string{"a"},
	}
	o := overview.Collect(context.Background(), src, "")
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), secret) {
		t.Errorf("the overview shows the secret:\n%s", js)
	}
	if n := strings.Count(string(js), "sig=[redacted]"); n != 20 {
		t.Errorf("%d fields masked, want every free-text one:\n%s", n, js)
	}
	if ops[0].Steps[0].Outcome != leak || pairs[0].Sides[ssis.SidePrimary].Agent != leak || streams.streams[0].LastError != leak {
		t.Error("masking changed what the sources returned")
	}
}
