package overview_test

import (
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/failover"
	"integration-dr/journal"
	"integration-dr/overview"
	"integration-dr/replication"
)

func TestTrafficIsWhereTheLastKnownRoutesSendIt(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	report := failover.Report{Pair: "p", At: t0, Routes: []failover.RouteReading{
		{Side: replication.Primary, Name: "tm prof/ep-weu", Enabled: true, Health: "Online", At: t0},
		{Side: replication.Secondary, Name: "tm prof/ep-neu", At: t0},
	}}
	moved := journal.Operation{ID: "c1", Pair: "p", Action: command.Failover, Status: journal.Succeeded, Created: t0.Add(time.Minute), Updated: t0.Add(3 * time.Minute),
		Steps: []journal.Step{
			{Name: failover.StepStopOld, Status: journal.StepDone, Ended: t0.Add(time.Minute), Changes: []string{"disabled route tm prof/ep-weu", "disabled x12-intake"}},
			{Name: failover.StepEnable, Status: journal.StepDone, Ended: t0.Add(2 * time.Minute), Changes: []string{"enabled x12-intake", "enabled route tm prof/ep-neu"}},
		}}
	halfway := moved
	halfway.Status, halfway.Steps = journal.Waiting, moved.Steps[:1]
	refused := moved
	refused.Status = journal.Rejected
	tests := []struct {
		name   string
		ops    []journal.Operation
		routed string
		known  time.Time
	}{
		{"as readiness read it", nil, "primary", t0},
		{"after a failover: the new side, known since the older of its two steps", []journal.Operation{moved}, "secondary", t0.Add(time.Minute)},
		{"between stop-old and enable-target: neither", []journal.Operation{halfway}, overview.RoutedNeither, t0},
		{"after a refused move: unknown since it ended", []journal.Operation{refused}, overview.RoutedUnknown, t0.Add(3 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := overview.Overview{Readiness: []failover.Report{report}, Operations: tt.ops}
			got := o.Traffic()
			if len(got) != 1 || got[0].Routed != tt.routed || !got[0].KnownAt.Equal(tt.known) {
				t.Fatalf("traffic %+v; want routed %s known at %s", got, tt.routed, tt.known)
			}
		})
	}
}
