package statuspage_test

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
	"integration-dr/statuspage"
)

func render(t *testing.T, o overview.Overview) string {
	t.Helper()
	page, err := statuspage.Render(o)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return string(page)
}

// with returns the sample overview changed by edit.
func with(edit func(*overview.Overview)) overview.Overview {
	o := sampleOverview()
	edit(&o)
	return o
}

func TestRenderShows(t *testing.T) {
	tests := []struct {
		name    string
		o       overview.Overview
		want    []string
		notWant []string
	}{
		{
			name: "the generation time and the problems in a warning box",
			o:    sampleOverview(),
			want: []string{"2025-03-14 09:30:00 UTC", `class="problems" role="alert"`, "operations of legacy-as2: table storage: 503 Server Busy"},
		},
		{
			name: "every pair with its active side, epoch and direction",
			o:    sampleOverview(),
			want: []string{pairA, pairB, "secondary active", "primary active", "epoch <span class=\"num\">5</span>", "secondary-&gt;primary"},
		},
		{
			name: "each pair's lag now and time since its last success",
			o:    sampleOverview(),
			want: []string{lagAText, lagBText, "38 s ago", "4 min 22 s ago"},
		},
		{
			name:    "not yet synced when the lag is -1",
			o:       with(func(o *overview.Overview) { o.Streams[0].LagSeconds = -1 }),
			want:    []string{"lag not yet synced", `num">not yet synced</span>`},
			notWant: []string{">" + lagAText + "<"},
		},
		{
			name: "no success yet when none has",
			o:    with(func(o *overview.Overview) { o.Streams[1].SinceSuccessSeconds = -1 }),
			want: []string{"no run has succeeded yet"},
		},
		{
			name: "a pair's last error and its run in progress",
			o:    sampleOverview(),
			want: []string{"Last run failed:", "429 Too Many Requests (retry after 30s)", "run in progress"},
		},
		{
			name:    "no run in progress when none is",
			o:       with(func(o *overview.Overview) { o.Streams[1].RunInProgress = false }),
			notWant: []string{"run in progress"},
		},
		{
			name: "the last operation with its RTO, epochs and steps",
			o:    sampleOverview(),
			want: []string{lastOpID, lastOpRTO, "epoch 4 → 5", "fence-old-side", "42 numbers bumped on secondary"},
		},
		{
			name: "a failed operation's error",
			o:    sampleOverview(),
			want: []string{"op-0be44d17", "has no room for its bump (999999990 &#43; 1000 &gt; 999999999)"},
		},
		{
			name: "a pending operation with the step it waits on",
			o:    sampleOverview(),
			want: []string{"Pending operations", "<strong>fence-old-side</strong>", fenceReason},
		},
		{
			name:    "nothing pending",
			o:       with(func(o *overview.Overview) { o.Pending = nil }),
			want:    []string{"Nothing pending."},
			notWant: []string{"<strong>fence-old-side</strong>"},
		},
		{
			name:    "a ready pair as ready",
			o:       with(func(o *overview.Overview) { o.Readiness = o.Readiness[:1] }),
			want:    []string{`<span class="badge big ok">ready</span>`, ">pass<", ">warn<", "does not check received numbers for duplicates"},
			notWant: []string{"not ready", ">fail<"},
		},
		{
			name:    "a pair not ready, with the check that failed and why",
			o:       with(func(o *overview.Overview) { o.Readiness = o.Readiness[1:] }),
			want:    []string{`<span class="badge big bad">not ready</span>`, ">fail<", failover.CheckNameAgreements, "protocol differs (X12 on primary, EDIFACT on secondary)"},
			notWant: []string{`<span class="badge big ok">ready</span>`},
		},
		{
			name: "when each readiness report was taken",
			o:    sampleOverview(),
			want: []string{"2025-03-14 09:26:00 UTC", "4 min ago"},
		},
		{
			name: "SSIS sides with their roles, runtimes, triggers and schedules",
			o:    sampleOverview(),
			want: []string{ssisPair, ">primary<", ">secondary<", ">serves<", "ir-finance-neu", "wanted Started", "hourly-delta: Started", "Nightly ETL: enabled", "Nightly ETL: disabled", "secondary: started trigger hourly-delta"},
		},
		{
			name: "an SSIS pair's unknown role prominently, with the Agent note and what is in flight",
			o:    sampleOverview(),
			want: []string{`<div class="alarm" role="alert"><strong>Role unknown`, ssisUnknown, "no SQL Agent, schedules are not toggled", "start begun 09:27:10 UTC"},
		},
		{
			name:    "no alarm for an SSIS pair whose role is known",
			o:       with(func(o *overview.Overview) { o.SSIS = o.SSIS[:1] }),
			notWant: []string{"Role unknown"},
		},
		{
			name:    "no problems box when everything was read",
			o:       with(func(o *overview.Overview) { o.Problems = nil }),
			notWant: []string{`class="problems"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.o)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(page, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

func TestRenderEscapesEveryValue(t *testing.T) {
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	const escaped = `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;`
	tests := []struct {
		name string
		edit func(*overview.Overview)
	}{
		{"a pair's last error", func(o *overview.Overview) { o.Streams[0].LastError = evil }},
		{"a pair's name", func(o *overview.Overview) { o.Streams[0].Pair = evil }},
		{"a problem", func(o *overview.Overview) { o.Problems = []string{evil} }},
		{"a readiness check's why", func(o *overview.Overview) { o.Readiness[0].Checks[1].Why = evil }},
		{"an operation's id", func(o *overview.Overview) { o.Operations[0].ID = evil }},
		{"a step's outcome", func(o *overview.Overview) { o.Pending[0].Steps[9].Outcome = evil }},
		{"an SSIS trigger's name", func(o *overview.Overview) { o.SSIS[0].Sides[ssis.SidePrimary].Triggers[evil] = "Started" }},
		{"an SSIS unknown-role reason", func(o *overview.Overview) { o.SSIS[1].Unknown = evil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, with(tt.edit))
			if strings.Contains(strings.ToLower(page), "<script") {
				t.Error("page holds a <script> element")
			}
			if strings.Contains(page, "<img") {
				t.Error("page holds an <img> element")
			}
			if !strings.Contains(page, escaped) {
				t.Errorf("page lacks the escaped value %q", escaped)
			}
		})
	}
}

// externalRef finds a reference the browser would fetch from elsewhere: an attribute
// or CSS url() pointing at another origin.
var externalRef = regexp.MustCompile(`(?i)((src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:)?//)|url\(\s*["']?\s*(https?:)?//|@import`)

func TestRenderLoadsNothingFromElsewhere(t *testing.T) {
	tests := []struct {
		name string
		o    overview.Overview
	}{
		{"the sample overview", sampleOverview()},
		{"an empty overview", overview.Overview{}},
		{"errors that hold markup with URLs", with(func(o *overview.Overview) {
			o.Streams[0].LastError = `<img src="https://evil.example/x.png"><a href="http://evil.example/">x</a>`
			o.Problems = append(o.Problems, `<link rel="stylesheet" href="//evil.example/x.css">`)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.o)
			if m := externalRef.FindString(page); m != "" {
				t.Errorf("page references another origin: %q", m)
			}
			for _, tag := range []string{"<script", "<link", "<img", "<iframe", "<object"} {
				if strings.Contains(strings.ToLower(page), tag) {
					t.Errorf("page holds %s", tag)
				}
			}
		})
	}
}

func TestRenderEmptyOverview(t *testing.T) {
	tests := []struct {
		name string
		o    overview.Overview
		want []string
	}{
		{"nothing at all", overview.Overview{}, []string{`<html lang="en">`, "Nothing to show", "Generated <time>—</time>"}},
		{"only problems", overview.Overview{Generated: generated, Problems: []string{"replication status: timeout"}}, []string{"Nothing to show", "replication status: timeout"}},
		{"a pair with no history, readiness or runs", overview.Overview{Generated: generated, Streams: []replication.StreamStatus{{Pair: "new-pair", LagSeconds: -1, SinceSuccessSeconds: -1}}},
			[]string{"new-pair", "not yet synced", "No runs recorded yet.", "no readiness report", "No readiness report kept."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.o)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

func TestLagChart(t *testing.T) {
	at := func(min int) time.Time { return generated.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name       string
		hist       []replication.RunSample
		wantPoints int
		wantFailed int
		want       []string
	}{
		{
			name: "one point per run, failed runs crossed out, with max lag and span",
			hist: []replication.RunSample{
				{At: at(0), LagSeconds: 30, OK: true}, {At: at(1), LagSeconds: 125, OK: false},
				{At: at(2), LagSeconds: 90, OK: false}, {At: at(3), LagSeconds: 40, OK: true},
			},
			wantPoints: 4, wantFailed: 2,
			want: []string{">2m05s<", "3 min span", ">09:30<", ">09:33 UTC<", "2 runs failed.", "<title id=\"lag0-t\">Replication lag of " + pairA + " over its last 4 runs</title>"},
		},
		{
			name:       "runs before the first full sync sit on the baseline",
			hist:       []replication.RunSample{{At: at(0), LagSeconds: -1, OK: true}, {At: at(1), LagSeconds: -1, OK: true}, {At: at(2), LagSeconds: 12, OK: true}},
			wantPoints: 3,
			want:       []string{`class="pt nosync"`, "no lag yet (first full sync not complete)", "no run failed."},
		},
		{
			name:       "a single run",
			hist:       []replication.RunSample{{At: at(0), LagSeconds: 5, OK: true}},
			wantPoints: 1,
		},
		{
			name:       "bad lags (NaN, infinite, negative) are drawn without a lag",
			hist:       []replication.RunSample{{At: at(0), LagSeconds: math.NaN(), OK: true}, {At: at(1), LagSeconds: math.Inf(1), OK: false}, {At: at(2), LagSeconds: -7, OK: true}},
			wantPoints: 3, wantFailed: 1,
		},
		{
			name:       "runs without times, or out of order, are spaced evenly",
			hist:       []replication.RunSample{{LagSeconds: 3, OK: true}, {At: at(5), LagSeconds: 4, OK: true}, {At: at(1), LagSeconds: 5, OK: false}},
			wantPoints: 3, wantFailed: 1,
			want: []string{"3 runs"},
		},
		{
			name:       "a history longer than the chart keeps the newest runs",
			hist:       manyRuns(200),
			wantPoints: 120,
			want:       []string{"80 older not shown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := overview.Overview{Generated: generated, Streams: []replication.StreamStatus{{Pair: pairA, LagSeconds: 1, History: tt.hist}}}
			page := render(t, o)
			svg := between(t, page, "<svg", "</svg>")
			if got := strings.Count(svg, `class="pt `); got != tt.wantPoints {
				t.Errorf("chart has %d points, want %d", got, tt.wantPoints)
			}
			if got := strings.Count(svg, `class="pt fail"`); got != tt.wantFailed {
				t.Errorf("chart marks %d failed runs, want %d", got, tt.wantFailed)
			}
			if got := strings.Count(svg, `class="band"`); got != tt.wantFailed {
				t.Errorf("chart has %d failure bands, want %d", got, tt.wantFailed)
			}
			for _, bad := range []string{"NaN", "Inf"} {
				if strings.Contains(svg, bad) {
					t.Errorf("chart holds %s", bad)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

func manyRuns(n int) []replication.RunSample {
	out := make([]replication.RunSample, n)
	for i := range out {
		out[i] = replication.RunSample{At: generated.Add(time.Duration(i) * time.Minute), LagSeconds: float64(i % 50), OK: true}
	}
	return out
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("page has no %s", from)
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		t.Fatalf("page has no %s after %s", to, from)
	}
	return s[i : i+j+len(to)]
}

func TestRenderGuardsBadNumbers(t *testing.T) {
	tests := []struct {
		name string
		lag  float64
		want string
	}{
		{"NaN", math.NaN(), "unknown"},
		{"infinite", math.Inf(1), "unknown"},
		{"negative other than -1", -3, "unknown"},
		{"absurdly large", 1e300, "over 30 years"},
		{"under ten seconds, to a tenth", 2.14, "2.1 s"},
		{"minutes", 4*60 + 12, "4 min 12 s"},
		{"hours", 3*3600 + 5*60, "3 h 5 min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := overview.Overview{Generated: generated, Streams: []replication.StreamStatus{{Pair: pairA, LagSeconds: tt.lag, SinceSuccessSeconds: tt.lag}}}
			page := render(t, o)
			lagRow := between(t, page, "<dt>Lag now</dt>", "</dd>")
			if !strings.Contains(lagRow, ">"+tt.want+"<") {
				t.Errorf("lag shown as %s, want %q", lagRow, tt.want)
			}
			if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
				t.Error("page holds NaN or Inf")
			}
		})
	}
}

func TestRenderCapsLongLists(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name string
		edit func(*overview.Overview)
		want []string
		// notWant is an item past the cap.
		notWant string
	}{
		{
			name:    "operations",
			edit:    func(o *overview.Overview) { o.Operations = manyOps(500) },
			want:    []string{"op-0029", "… and 470 more operations not shown."},
			notWant: "op-0030",
		},
		{
			name:    "pending operations",
			edit:    func(o *overview.Overview) { o.Pending = manyOps(45) },
			want:    []string{"… and 15 more pending operations not shown."},
			notWant: "op-0044",
		},
		{
			name: "problems",
			edit: func(o *overview.Overview) {
				o.Problems = many(100, func(i int) string { return fmt.Sprintf("problem-%03d", i) })
			},
			want:    []string{"problem-019", "… and 80 more not shown."},
			notWant: "problem-020",
		},
		{
			name: "steps",
			edit: func(o *overview.Overview) {
				o.Operations = manyOps(1)
				for i := range 40 {
					o.Operations[0].Steps = append(o.Operations[0].Steps, journal.Step{Name: fmt.Sprintf("step-%02d", i), Status: journal.StepDone})
				}
			},
			want:    []string{"step-14", "… and 25 more steps."},
			notWant: "step-15",
		},
		{
			name: "SSIS sides",
			edit: func(o *overview.Overview) {
				for i := range 10 {
					o.SSIS[0].Sides[ssis.Side(fmt.Sprintf("side-%02d", i))] = ssis.SideReport{IR: fmt.Sprintf("ir-extra-%02d", i)}
				}
			},
			want:    []string{"ir-extra-01", "… and 8 more sides not shown."},
			notWant: "ir-extra-02",
		},
		{
			name:    "a very long error",
			edit:    func(o *overview.Overview) { o.Streams[0].LastError = "boom " + strings.Repeat("x", 20000) + " END" },
			want:    []string{"boom xxx", "x…"},
			notWant: " END",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, with(tt.edit))
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(page, tt.notWant) {
				t.Errorf("page shows %q, past the cap", tt.notWant)
			}
		})
	}
}

func manyOps(n int) []journal.Operation {
	out := make([]journal.Operation, n)
	for i := range out {
		out[i] = journal.Operation{ID: fmt.Sprintf("op-%04d", i), Action: "drill", Pair: pairA, Status: journal.Waiting, Created: generated.Add(-time.Duration(i) * time.Minute)}
	}
	return out
}

func TestRenderMasksSecretsInText(t *testing.T) {
	tests := []struct {
		name, text, secret string
	}{
		{"a storage connection string", "table: DefaultEndpointsProtocol=https;AccountName=drstate;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core", "c2VjcmV0LWtleQ=="},
		{"a Service Bus key", "Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=abcDEF123xyz", "abcDEF123xyz"},
		{"a SAS signature in a URL", "GET https://drstate.table.example/ops?sv=2023&sig=Zm9vYmFy%3D&se=x: 403", "Zm9vYmFy"},
		{"a function key in a URL", "POST /api/status?code=hostkey-123: 401", "hostkey-123"},
		{"a bearer token", "Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.c2ln", "eyJhbGciOi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, with(func(o *overview.Overview) {
				o.Streams[0].LastError = tt.text
				o.Problems = []string{tt.text}
				o.Operations[0].Error = tt.text
			}))
			if strings.Contains(page, tt.secret) {
				t.Errorf("page shows the secret %q", tt.secret)
			}
			if !strings.Contains(page, "[redacted]") {
				t.Error("page does not say what it masked")
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	// Maps (SSIS sides, triggers) are laid out in a fixed order, and nothing reads
	// the clock: the same overview gives the same page.
	first, err := statuspage.Render(sampleOverview())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := statuspage.Render(sampleOverview())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two renders of one overview differ")
		}
	}
	page := string(first)
	if strings.Index(page, "hourly-delta: Stopped") > strings.Index(page, "nightly-load: Stopped") {
		t.Error("triggers are not in name order")
	}
	if strings.Index(page, "ir-finance-weu") > strings.Index(page, "ir-finance-neu") {
		t.Error("the primary side is not listed first")
	}
}
