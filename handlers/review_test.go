package handlers

// Review tests of the Status function: each fails on the code as reviewed.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

type reviewJournal struct{ pending []journal.Operation }

func (j reviewJournal) List(context.Context, string, int) ([]journal.Operation, error) {
	return j.pending, nil
}
func (j reviewJournal) ListPending(context.Context) ([]journal.Operation, error) {
	return j.pending, nil
}

type reviewSSIS []ssis.PairStatus

func (s reviewSSIS) Status(context.Context) ([]ssis.PairStatus, error) { return s, nil }

type reviewRes struct {
	StatusCode float64           `json:"statusCode"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// callStatus invokes Status as the host does, with the request's headers.
func callStatus(t *testing.T, src overview.Sources, headers map[string][]string) reviewRes {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": map[string]any{
		"Url": "https://app.example/api/status", "Method": "GET", "Query": map[string]string{}, "Headers": headers,
	}}, "Metadata": map[string]any{}})
	h := &Handler{Overview: src, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Second}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FnStatus, strings.NewReader(string(req))))
	var reply struct {
		Outputs struct {
			Res reviewRes `json:"res"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("invocation reply %d %q", rec.Code, rec.Body.String())
	}
	return reply.Outputs.Res
}

// The checkpoints could not be read (one pair's entity, one failed query), but the
// journal and the SSIS pairs were: the operator needs the pending fence and the SSIS
// roles most when something is wrong. Status answers 503 with none of it.
func TestReviewStatusShowsWhatItCouldReadWhenTheStreamsCannotBe(t *testing.T) {
	fence := journal.Operation{ID: "fo-7", Pair: "contoso-b2b", Action: "failover", Status: journal.Waiting,
		Steps: []journal.Step{{Name: "fence-old-side", Status: journal.StepWaiting, Outcome: "fence pending: the old side does not answer"}}}
	src := overview.Sources{
		Streams: statusReader{err: errors.New("pair contoso-b2b: decode checkpoint: bad entity")},
		Journal: reviewJournal{pending: []journal.Operation{fence}},
		SSIS:    reviewSSIS{{Report: ssis.Report{Pair: "contoso-ssis", Unknown: "both SSISDBs say PRIMARY"}}},
		Pairs:   []string{"contoso-b2b", "contoso-ssis"},
	}
	res := callStatus(t, src, map[string][]string{"Accept": {"application/json"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "fo-7") || !strings.Contains(res.Body, "both SSISDBs say PRIMARY") {
		t.Errorf("only the streams could not be read, yet Status answers %v without the pending fence and the unknown SSIS role:\n%s", res.StatusCode, res.Body)
	}
}

// A script that prefers JSON and only tolerates HTML (q=0.1), or refuses it (q=0),
// gets the HTML page: the Accept header's q-values are ignored.
func TestReviewStatusHonoursAcceptQualityValues(t *testing.T) {
	src := overview.Sources{Streams: statusReader{streams: []replication.StreamStatus{{Pair: "contoso-b2b", LagSeconds: 4.5}}}}
	for _, accept := range []string{"application/json, text/html;q=0.1", "application/json, text/html;q=0"} {
		res := callStatus(t, src, map[string][]string{"Accept": {accept}})
		if ct := res.Headers["Content-Type"]; ct != "application/json" {
			t.Errorf("Accept: %s answered with Content-Type %q", accept, ct)
		}
	}
}

// The page masks what looks like a key in free text (an SDK error quoting a SAS or a
// connection string); the JSON answer of the same function, under the same key, and
// documented as "the same content", hands it out as it is.
func TestReviewStatusJSONMasksWhatThePageMasks(t *testing.T) {
	const secret = "sig=Zm9vYmFyc2VjcmV0"
	src := overview.Sources{Streams: statusReader{streams: []replication.StreamStatus{{
		Pair: "contoso-b2b", LagSeconds: 4.5, LastError: "list sessions: GET https://host/x?sv=2022&" + secret + ": 403",
	}}}}
	page := callStatus(t, src, map[string][]string{"Accept": {"text/html"}})
	if strings.Contains(page.Body, secret) {
		t.Fatalf("precondition: the page shows the secret")
	}
	js := callStatus(t, src, map[string][]string{"Accept": {"application/json"}})
	if strings.Contains(js.Body, secret) {
		t.Errorf("the JSON status shows %q, which the page masks:\n%s", secret, js.Body)
	}
}
