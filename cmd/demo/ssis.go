package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"integration-dr/command"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/dev/sqlstandin"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/ssis"
)

// ssisStandby is the demo pair's standby policy: stopped, so that the failover shows
// the runtime's start spanning ticks.
const ssisStandby = "stopped"

// ssisDemo fails the SSIS pair's group over with an ssis-failover command and shows
// each side before, at every tick during, and after.
type ssisDemo struct {
	arm  *armstandin.Server
	sql  *sqlstandin.Server
	host *hostsim.Host
	out  io.Writer
}

func (d *ssisDemo) run(ctx context.Context, result map[string]any) error {
	fmt.Fprintf(d.out, "\nSSIS: the SQL Managed Instance failover group %s fails over to North Europe; the runtimes, triggers and Agent schedules follow.\n\n", localstack.SSISFailoverGroup)
	if _, err := d.reconcile(ctx); err != nil {
		return err
	}
	d.table("before")
	// Starting takes several polls, as a real start takes minutes.
	d.arm.SetPollsToComplete(4)
	c := command.Command{ID: "ssis-failover-1", Action: command.SSISFailover, Pair: localstack.SSISPairName, Reason: "failover drill", RequestedBy: "demo operator"}
	if _, err := d.host.Send(demoQueue, hostsim.Message{Body: c.Encode(), MessageID: c.ID}); err != nil {
		return err
	}
	del, err := d.host.DeliverOne(ctx, handlers.FnRunCommand)
	if err != nil {
		return err
	}
	var said []string
	for _, l := range del.Logs {
		if !strings.HasPrefix(l, "{") { // the structured events are for the alert queries
			said = append(said, l)
		}
	}
	fmt.Fprintf(d.out, "RunCommand %s: %s\n", c.ID, strings.Join(said, "; "))
	const row = "%5s  %-22s  %-20s  %-20s  %s\n"
	fmt.Fprintf(d.out, row, "tick", "operation", "ssis-ir-weu", "ssis-ir-neu", "what changed")
	deadline := time.Now().Add(time.Minute)
	var op journal.Operation
	for tick := 1; ; tick++ {
		res, err := d.host.Timer(ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true})
		if err != nil {
			return err
		}
		var ops []journal.Operation
		_ = json.Unmarshal(res.ReturnValue, &ops)
		for _, o := range ops {
			if o.ID == c.ID {
				op = o
			}
		}
		changes := "-"
		for _, st := range op.Steps {
			if st.Status == journal.StepWaiting {
				changes = st.Outcome
			}
		}
		if op.Status.Terminal() {
			changes = "done: " + op.Steps[len(op.Steps)-1].Outcome
		}
		fmt.Fprintf(d.out, row, fmt.Sprint(tick), string(op.Status)+" "+stepSummary(op), d.irState(0), d.irState(1), shorten(changes, 90))
		if op.Status.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the ssis-failover did not end within a minute: %+v", op)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if op.Status != journal.Succeeded {
		return fmt.Errorf("ssis-failover %s: %s", op.Status, op.Error)
	}
	rep, err := d.reconcile(ctx)
	if err != nil {
		return err
	}
	d.table("after")
	result["ssis_failover_rto_s"] = round2(op.RTO.Seconds())
	result["ssis_converged_after"] = rep.Converged
	result["ssis_forced_failovers"] = d.arm.ForcedFailovers(localstack.SSISFailoverGroup)
	if !rep.Converged {
		return fmt.Errorf("the SSIS pair did not converge after the failover: %v %v", rep.Changes, rep.Problems)
	}
	return nil
}

func (d *ssisDemo) reconcile(ctx context.Context) (ssis.Report, error) {
	res, err := d.host.Timer(ctx, handlers.FnReconcileSSIS, time.Now(), hostsim.TimerStatus{Unmonitored: true})
	if err != nil {
		return ssis.Report{}, err
	}
	var reps []ssis.Report
	if err := json.Unmarshal(res.ReturnValue, &reps); err != nil || len(reps) != 1 {
		return ssis.Report{}, fmt.Errorf("ReconcileSSIS answered %d %v", res.Status, res.Logs)
	}
	return reps[0], nil
}

func (d *ssisDemo) irState(i int) string {
	s := localstack.SSISSides[i]
	st, _ := d.arm.IntegrationRuntimeState(s.Group, s.Factory, s.IR)
	return st
}

// table prints each side: its role, runtime, triggers and schedule.
func (d *ssisDemo) table(when string) {
	fmt.Fprintf(d.out, "\nSSIS pair %s, %s:\n", localstack.SSISPairName, when)
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "side\trole\truntime\tnightly-load\tweekly-archive\tadhoc-export (not the pair's)\tschedule\t")
	roles, _ := d.arm.FailoverGroupRoles(localstack.SSISFailoverGroup)
	for i, s := range localstack.SSISSides {
		trig := func(name string) string { st, _ := d.arm.TriggerState(s.Group, s.Factory, name); return st }
		sched := "-"
		for _, sc := range d.sql.Schedules(s.Endpoint) {
			sched = fmt.Sprintf("%s enabled=%t", sc.Name, sc.Enabled)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t\n", s.Location, roles[s.Member], s.IR, d.irState(i), trig(localstack.SSISTrigger), trig("weekly-archive"), trig("adhoc-export"), sched)
	}
	tw.Flush()
}
