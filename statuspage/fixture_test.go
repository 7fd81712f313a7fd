package statuspage_test

import (
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
	"integration-dr/ssis"
)

// generated is when the sample overview was taken.
var generated = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)

// Values the tests look for in the rendered page.
const (
	pairA       = "contoso-b2b"
	pairB       = "fabrikam-edi"
	lagA        = 42.3 // shown as "42 s"
	lagAText    = "42 s"
	lagB        = 400.0 // shown as "6 min 40 s"
	lagBText    = "6 min 40 s"
	lastOpID    = "op-7f3a9c1e"
	lastOpRTO   = "3 min 48 s"
	fenceReason = "fence pending: the old side does not answer"
	failedWhy   = "agreement x12-acme-out: protocol differs (X12 on primary, EDIFACT on secondary)"
	ssisPair    = "ssis-finance"
	ssisUnknown = "failover group fg-hr does not answer and both SSISDBs say PRIMARY"
)

// sampleOverview is an outage an hour old, as the Status function would collect it:
// contoso-b2b failed over to the secondary 35 minutes ago (its fence on the old
// primary is still pending) and replicates back; fabrikam-edi is on the primary, its
// runs throttled; one SSIS pair followed its failover group, another cannot tell its
// roles; and one pair's journal could not be read.
func sampleOverview() overview.Overview {
	return overview.Overview{
		Generated:      generated,
		ReadinessEvery: time.Hour,
		Streams: []replication.StreamStatus{
			{
				Pair: pairA, Active: replication.Secondary, Epoch: 5, Direction: "secondary->primary",
				Watermark: generated.Add(-43 * time.Second), LagSeconds: lagA,
				LastRun: generated.Add(-38 * time.Second), LastWrites: 12, LastListed: 57,
				SinceSuccessSeconds: 38, History: historyA(), Runs: 18412, Writes: 240311,
				LastReconciled: generated.Add(-14 * time.Minute), LastHealed: 0,
			},
			{
				Pair: pairB, Active: replication.Primary, Epoch: 2, Direction: "primary->secondary",
				Watermark: generated.Add(-400 * time.Second), LagSeconds: lagB,
				LastRun: generated.Add(-20 * time.Second), LastError: "list sessions: GET integrationAccounts/fabrikam-edi-weu/sessions: 429 Too Many Requests (retry after 30s)",
				SinceSuccessSeconds: 262, History: historyB(), Runs: 9120, Writes: 77015,
				RunInProgress: true, Scan: replication.ScanIncremental, ScanListed: 1840,
			},
		},
		Readiness: []failover.Report{
			{
				Pair: pairA, At: generated.Add(-4 * time.Minute), Epoch: 5, From: replication.Secondary, To: replication.Primary,
				Checks: []failover.Check{
					{Name: failover.CheckNameReachable, OK: true, Why: "21 agreements"},
					{Name: failover.CheckNameAgreements, OK: true},
					{Name: failover.CheckNameDuplicates, OK: true, Warn: true, Why: "agreement as2-globex: does not check received numbers for duplicates"},
					{Name: failover.CheckNameRoom, OK: true, Why: "42 numbers to bump"},
					{Name: failover.CheckNameLag, OK: true, Why: "42s behind (at most 10m0s)"},
				},
				Bumps: []string{"x12-acme-out/ICN: 000041233 -> 000042233", "edifact-initech/UNB: 7781 -> 8781"},
			},
			{
				Pair: pairB, At: generated.Add(-6 * time.Minute), Epoch: 2, From: replication.Primary, To: replication.Secondary,
				Checks: []failover.Check{
					{Name: failover.CheckNameReachable, OK: true, Why: "18 agreements"},
					{Name: failover.CheckNameAgreements, Why: failedWhy},
					{Name: failover.CheckNameDuplicates, OK: true},
					{Name: failover.CheckNameRoom, OK: true, Why: "17 numbers to bump"},
					{Name: failover.CheckNameLag, OK: true, Why: "6m0s behind (at most 10m0s)"},
				},
				Notes: []string{"secondary holds 2 agreements the primary does not: kept as they are"},
			},
		},
		Pending:    []journal.Operation{failoverA()},
		Operations: []journal.Operation{failoverA(), fallbackB(), reconcileFinance(), drillA()},
		SSIS: []ssis.PairStatus{
			{Report: ssis.Report{
				Pair: ssisPair, At: generated.Add(-50 * time.Second), Converged: true,
				Roles:   map[ssis.Side]ssis.Role{ssis.SidePrimary: ssis.Secondary, ssis.SideSecondary: ssis.Primary},
				Reading: []string{"failover group fg-finance (ARM): secondary is primary", "SSISDB on sql-finance-neu: PRIMARY"},
				Sides: map[ssis.Side]ssis.SideReport{
					ssis.SidePrimary: {
						Role: ssis.Secondary, IR: "ir-finance-weu", IRState: "Stopped", IRWant: "Stopped",
						Triggers:  map[string]string{"nightly-load": "Stopped", "hourly-delta": "Stopped"},
						Schedules: []ssis.ScheduleState{{ID: 3, Name: "Nightly ETL", Enabled: false}},
					},
					ssis.SideSecondary: {
						Role: ssis.Primary, Serves: true, IR: "ir-finance-neu", IRState: "Started", IRWant: "Started",
						Triggers:  map[string]string{"nightly-load": "Started", "hourly-delta": "Started"},
						Schedules: []ssis.ScheduleState{{ID: 3, Name: "Nightly ETL", Enabled: true}},
					},
				},
				Changes: []string{"secondary: started trigger hourly-delta", "secondary: enabled schedule Nightly ETL (3)"},
			}},
			{Report: ssis.Report{
				Pair: "ssis-hr", At: generated.Add(-55 * time.Second), Unknown: ssisUnknown,
				Sides: map[ssis.Side]ssis.SideReport{
					ssis.SidePrimary:   {Role: ssis.Unknown, IR: "ir-hr-weu", IRState: "Started", IRWant: "Started", Agent: "Azure SQL Database: no SQL Agent, schedules are not toggled"},
					ssis.SideSecondary: {Role: ssis.Unknown, IR: "ir-hr-neu", IRState: "Starting", IRWant: "Started", InFlight: "start begun 09:27:10 UTC"},
				},
				Problems: []string{"failover group fg-hr: GET: context deadline exceeded"},
			}, InFlight: []string{"ir|secondary: start begun 2025-03-14T09:27:10Z"}},
		},
		Problems: []string{"operations of legacy-as2: table storage: 503 Server Busy"},
	}
}

// historyA is an hour of once-a-minute runs across a failover: steady, then the
// primary goes down (runs fail, lag grows), the failover at 08:54 restarts the stream
// (no lag until the reverse full sync completes), then steady again.
func historyA() []replication.RunSample {
	start := generated.Add(-59 * time.Minute)
	var h []replication.RunSample
	for i := range 60 {
		s := replication.RunSample{At: start.Add(time.Duration(i) * time.Minute), OK: true, Writes: int64(8 + i%7*3), LagSeconds: 35 + float64(i%5)*6}
		switch {
		case i >= 18 && i < 23: // the primary region is down
			s.OK, s.Writes, s.LagSeconds = false, 0, 70+float64(i-18)*60
		case i >= 23 && i < 27: // after the failover: reverse full sync
			s.LagSeconds, s.Writes = -1, 400
		}
		if i == 59 {
			s.LagSeconds = lagA
		}
		h = append(h, s)
	}
	return h
}

// historyB is an hour of runs drifting behind under throttling, the last three failed.
func historyB() []replication.RunSample {
	start := generated.Add(-59 * time.Minute)
	var h []replication.RunSample
	for i := range 60 {
		s := replication.RunSample{At: start.Add(time.Duration(i) * time.Minute), OK: true, Writes: 20, LagSeconds: 48 + float64(i%4)*5}
		if i >= 45 {
			s.LagSeconds = 60 + float64(i-45)*23
		}
		if i >= 57 {
			s.OK, s.Writes = false, 0
		}
		if i == 59 {
			s.LagSeconds = lagB
		}
		h = append(h, s)
	}
	return h
}

func epoch(n int64) *int64 { return &n }

func failoverA() journal.Operation {
	created := generated.Add(-36 * time.Minute)
	op := journal.Operation{
		ID: lastOpID, Action: command.Failover, Pair: pairA, Status: journal.Waiting,
		Source: journal.Source{AlertID: "/subscriptions/…/alerts/91c2", AlertRule: "weu-integration-down"},
		Reason: "alert weu-integration-down", ExpectedEpoch: epoch(4),
		Created: created, Updated: generated.Add(-10 * time.Second), RTOStart: created.Add(-40 * time.Second),
		RTO: 3*time.Minute + 48*time.Second, LagAtStart: 71 * time.Second, EpochBefore: 4, EpochAfter: 5,
	}
	names := []string{"authorize", "readiness", "stop-old-intake", "catch-up", "hold-replication", "floors", "bump", "settle", "enable-target", "fence-old-side", "flip"}
	outcomes := []string{"alert rule weu-integration-down is allowed", "target reachable, 21 agreements", "skipped: the old side does not answer; fenced once it answers", "skipped: the old side does not answer", "replication held at epoch 4", "42 floors computed", "42 numbers bumped on secondary", "settled 15s", "enabled 14 workflows on secondary", fenceReason, "active side secondary at epoch 5"}
	for i, n := range names {
		st := journal.Step{Name: n, Status: journal.StepDone, Outcome: outcomes[i], Started: created.Add(time.Duration(i) * 20 * time.Second), Ended: created.Add(time.Duration(i)*20*time.Second + 15*time.Second)}
		switch n {
		case "stop-old-intake", "catch-up":
			st.Status = journal.StepSkipped
		case "fence-old-side":
			st.Status = journal.StepWaiting
		case "bump":
			st.Changes = []string{"x12-acme-out/ICN 000041233 -> 000042233", "edifact-initech/UNB 7781 -> 8781"}
		}
		op.Steps = append(op.Steps, st)
	}
	return op
}

func fallbackB() journal.Operation {
	created := generated.Add(-26 * time.Hour)
	return journal.Operation{
		ID: "op-51d0e2b4", Action: command.Fallback, Pair: pairB, Status: journal.Succeeded,
		Created: created, Updated: created.Add(4 * time.Minute), Done: created.Add(4 * time.Minute),
		RTO: 2*time.Minute + 10*time.Second, EpochBefore: 1, EpochAfter: 2,
		Steps: []journal.Step{
			{Name: "authorize", Status: journal.StepDone, Outcome: "requested by ops@contoso.example"},
			{Name: "drain", Status: journal.StepDone, Outcome: "secondary drained in 48s"},
			{Name: "bump", Status: journal.StepDone, Outcome: "17 numbers bumped on primary"},
			{Name: "flip", Status: journal.StepDone, Outcome: "active side primary at epoch 2"},
			{Name: "confirm-replication", Status: journal.StepDone, Outcome: "primary->secondary caught up"},
		},
	}
}

func reconcileFinance() journal.Operation {
	at := generated.Add(-50 * time.Second)
	return journal.Operation{
		ID: "reconcile-1741944550", Action: command.Reconcile, Pair: ssisPair, Status: journal.Succeeded,
		Created: at.Add(-30 * time.Hour), Done: at.Add(-30 * time.Hour),
		Steps: []journal.Step{{Name: "reconcile", Status: journal.StepDone, Outcome: "primary: Secondary, secondary: Primary", Changes: []string{"secondary: started trigger hourly-delta", "secondary: enabled schedule Nightly ETL (3)"}}},
	}
}

func drillA() journal.Operation {
	created := generated.Add(-50 * time.Hour)
	return journal.Operation{
		ID: "op-0be44d17", Action: command.Drill, Pair: pairA, Status: journal.Failed, DryRun: true,
		Created: created, Done: created.Add(time.Minute),
		Error: "floors: session x12-acme-out/ICN has no room for its bump (999999990 + 1000 > 999999999)",
		Steps: []journal.Step{
			{Name: "authorize", Status: journal.StepDone, Outcome: "requested by ops@contoso.example"},
			{Name: "readiness", Status: journal.StepDone, Outcome: "ready"},
			{Name: "floors", Status: journal.StepFailed, Outcome: "x12-acme-out/ICN: no room for its bump"},
		},
	}
}
