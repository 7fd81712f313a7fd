package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"integration-dr/overview"
	"integration-dr/view"
)

// Human output: plain tables (text/tabwriter), one section per heading, no colour, so
// that it reads the same in a terminal, a pager and a pasted incident note.

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0) }

// row writes one tab-separated row.
func row(tw *tabwriter.Writer, cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }

// writeJSON prints a --json document (no HTML escaping: "->" stays "->").
func writeJSON(w io.Writer, v any) error { return view.Encode(w, v) }

func fmtTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// fmtAge is a duration in whole seconds; negative (the documented -1) is "-".
func fmtAge(s float64) string {
	if s < 0 {
		return "-"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func fmtRTO(s *float64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Millisecond).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func renderStatus(w io.Writer, v statusView) error {
	fmt.Fprintf(w, "Status at %s (read from Table Storage; no call to Azure)\n", v.Generated.UTC().Format(time.RFC3339))

	fmt.Fprintln(w, "\nINTEGRATION-ACCOUNT PAIRS")
	if len(v.Streams) == 0 {
		fmt.Fprintln(w, "none")
	} else {
		tw := newTable(w)
		row(tw, "PAIR", "ACTIVE", "EPOCH", "LAG", "SINCE SUCCESS", "LAST RUN", "WRITES", "SCAN", "LAST ERROR")
		for _, s := range v.Streams {
			lag := fmtAge(s.LagSeconds)
			if s.LagSeconds < 0 {
				lag = "no full sync yet"
			}
			since := fmtAge(s.SinceSuccessSeconds)
			if s.SinceSuccessSeconds < 0 {
				since = "never"
			}
			last := fmtTime(s.LastRun)
			if s.RunInProgress {
				last += " (a run holds the stream)"
			}
			scan := "idle"
			if s.Scan != "" {
				scan = fmt.Sprintf("%s, %d listed", s.Scan, s.ScanListed)
			}
			if s.Reconciling {
				scan += fmt.Sprintf("; reconciling, %d listed", s.ReconcileListed)
			}
			row(tw, s.Pair, s.ActiveRegion, fmt.Sprint(s.Epoch), lag, since, last, fmt.Sprintf("%d (last run %d)", s.Writes, s.LastWrites), scan, dash(s.LastError))
		}
		tw.Flush()
	}

	if len(v.Traffic) > 0 {
		fmt.Fprintln(w, "\nTRAFFIC (where the routes send partners, as last read by readiness or changed by an operation)")
		tw := newTable(w)
		row(tw, "PAIR", "ROUTED TO", "KNOWN AT", "SIDE", "ROUTE", "STATE", "FROM")
		for _, t := range v.Traffic {
			for i, r := range t.Routes {
				pair, routed, at := t.Pair, t.Routed, t.KnownAt.UTC().Format(time.RFC3339)
				if i > 0 {
					pair, routed, at = "", "", ""
				}
				state := overview.RouteWords(r.Enabled, r.Health)
				row(tw, pair, routed, at, r.Side, r.Name, state, r.Source+" at "+r.KnownAt.UTC().Format(time.RFC3339))
			}
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nREADINESS (as the operations timer last kept it; drctl readiness checks now)")
	if len(v.Readiness) == 0 {
		fmt.Fprintln(w, "none kept yet")
	} else {
		tw := newTable(w)
		row(tw, "PAIR", "CHECKED", "AGE", "EPOCH", "MOVE", "STATE", "FAILING OR WHY STALE")
		for _, r := range v.Readiness {
			why := strings.Join(checksWith(r, verdictFail, verdictNotChecked), ", ")
			if r.State == stateStale {
				why = strings.Join(r.StaleBecause, "; ")
			}
			row(tw, r.Pair, r.CheckedAt.UTC().Format(time.RFC3339), fmtAge(r.AgeSeconds), fmt.Sprint(r.Epoch), r.From+" -> "+r.To, stateWords(r.State), dash(why))
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nPENDING OPERATIONS (running or waiting; AdvanceOperations moves them on)")
	if len(v.Pending) == 0 {
		fmt.Fprintln(w, "none")
	} else {
		tw := newTable(w)
		row(tw, "ID", "PAIR", "ACTION", "STATUS", "WAITING ON")
		for _, op := range v.Pending {
			row(tw, op.ID, op.Pair, op.Action, op.Status, dash(waitingOn(op)))
		}
		tw.Flush()
	}

	fmt.Fprintln(w, "\nLAST OPERATIONS (newest first; drctl journal --id ID shows one in full)")
	if len(v.Operations) == 0 {
		fmt.Fprintln(w, "none")
	}
	for i, op := range v.Operations {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, operationHeadline(op))
		renderSteps(w, op.Steps, "  ", false, false)
		if op.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", op.Error)
		}
	}

	fmt.Fprintln(w, "\nSSIS PAIRS (as last reconciled)")
	if len(v.SSIS) == 0 {
		fmt.Fprintln(w, "none")
	}
	for i, p := range v.SSIS {
		if i > 0 {
			fmt.Fprintln(w)
		}
		renderSSIS(w, p)
	}

	if len(v.Problems) > 0 {
		fmt.Fprintln(w, "\nPROBLEMS (the rest above is still current)")
		for _, p := range v.Problems {
			fmt.Fprintf(w, "- %s\n", p)
		}
	}
	return nil
}

// waitingOn says what a pending operation waits for: its waiting steps (a pending
// fence, a drain, a settle), else the step that runs.
func waitingOn(op operationView) string {
	var out []string
	for _, s := range op.Steps {
		if s.Status == "waiting" {
			out = append(out, s.Name+": "+s.Outcome)
		}
	}
	if len(out) == 0 {
		for _, s := range op.Steps {
			if s.Status == "running" {
				out = append(out, s.Name+" is running")
			}
		}
	}
	return strings.Join(out, "; ")
}

// operationHeadline is one line about an operation: what, its status, RTO and who.
func operationHeadline(op operationView) string {
	what := op.Action + " of " + op.Pair
	if op.DryRun {
		what += " (dry run)"
	}
	s := fmt.Sprintf("%s  %s  %s  %s  created %s", op.ID, what, op.Status, stepsDone(op), op.Created.UTC().Format(time.RFC3339))
	if op.RTOSeconds != nil {
		s += "  RTO " + fmtRTO(op.RTOSeconds)
	}
	if op.RequestedBy != "" {
		s += "  by " + op.RequestedBy
	}
	return s
}

func stepsDone(op operationView) string { return stepCount(op) + " steps" }

// stepCount is how many of an operation's steps have ended done or skipped, of all.
func stepCount(op operationView) string {
	done := 0
	for _, s := range op.Steps {
		if s.Status == "done" || s.Status == "skipped" {
			done++
		}
	}
	return fmt.Sprintf("%d/%d", done, len(op.Steps))
}

// renderSteps writes a plan's steps, and with changes each change under its step's
// outcome (without, how many there are).
func renderSteps(w io.Writer, steps []stepView, indent string, times, changes bool) {
	if len(steps) == 0 {
		return
	}
	tw := newTable(w)
	head := []string{indent + "STEP", "STATUS"}
	if times {
		head = append(head, "ENDED")
	}
	row(tw, append(head, "OUTCOME")...)
	for _, s := range steps {
		cells := []string{indent + s.Name, s.Status}
		if times {
			cells = append(cells, fmtTime(s.Ended))
		}
		outcome := dash(s.Outcome)
		if !changes && len(s.Changes) > 0 {
			outcome += fmt.Sprintf(" (%s)", plural(len(s.Changes), "change"))
		}
		row(tw, append(cells, outcome)...)
		if !changes {
			continue
		}
		for _, c := range s.Changes {
			cells := []string{indent, ""}
			if times {
				cells = append(cells, "")
			}
			row(tw, append(cells, "  "+c)...)
		}
	}
	tw.Flush()
}

func renderOperation(w io.Writer, op operationView) {
	what := op.Action + " of " + op.Pair
	if op.DryRun {
		what += " (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "operation %s: %s, %s\n", op.ID, what, op.Status)
	tw := newTable(w)
	field := func(k, v string) {
		if v != "" {
			row(tw, k, v)
		}
	}
	field("requested by", op.RequestedBy)
	if op.AlertID != "" {
		field("alert", op.AlertID+" (rule "+op.AlertRule+")")
	}
	field("reason", op.Reason)
	field("target", op.Target)
	field("side", op.Side)
	if op.Force {
		field("force", "yes")
	}
	field("created", op.Created.UTC().Format(time.RFC3339))
	if op.Done != nil {
		field("done", fmtTime(op.Done))
	}
	if op.RTOSeconds != nil {
		field("RTO", fmtRTO(op.RTOSeconds))
	}
	if op.LagAtStartSeconds > 0 {
		field("lag at start", fmtAge(op.LagAtStartSeconds))
	}
	if op.EpochAfter > 0 || op.EpochBefore > 0 {
		field("epoch", fmt.Sprintf("%d -> %d", op.EpochBefore, op.EpochAfter))
	}
	field("error", op.Error)
	tw.Flush()
	if len(op.Steps) > 0 {
		fmt.Fprintln(w)
		renderSteps(w, op.Steps, "", true, true)
	}
}

// stateWords is a readiness state as a human reads it.
func stateWords(state string) string {
	switch state {
	case stateReady:
		return "READY"
	case stateNotReady:
		return "NOT READY"
	case stateStale:
		return "STALE (not a verdict on now)"
	}
	return state
}

// verdictWords is a check's verdict as a human reads it.
func verdictWords(v string) string {
	if v == verdictNotChecked {
		return "not checked"
	}
	return v
}

// checksWith names r's checks whose verdict is one of verdicts.
func checksWith(r readinessView, verdicts ...string) []string {
	var out []string
	for _, c := range r.Checks {
		for _, v := range verdicts {
			if c.Verdict == v {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

func renderReadiness(w io.Writer, r readinessView, bumpsShown int) {
	fmt.Fprintf(w, "%s: %s -> %s  %s  (checked %s at epoch %d)\n", r.Pair, r.From, r.To, stateWords(r.State), r.CheckedAt.UTC().Format(time.RFC3339), r.Epoch)
	for _, why := range r.StaleBecause {
		fmt.Fprintf(w, "stale: %s\n", why)
	}
	tw := newTable(w)
	row(tw, "CHECK", "VERDICT", "WHY")
	for _, c := range r.Checks {
		row(tw, c.Name, verdictWords(c.Verdict), dash(c.Why))
	}
	tw.Flush()
	if len(r.Bumps) > 0 {
		fmt.Fprintf(w, "a move now would bump %d numbers:\n", len(r.Bumps))
		for i, b := range r.Bumps {
			if i == bumpsShown {
				fmt.Fprintf(w, "  … and %d more (--json lists them all)\n", len(r.Bumps)-i)
				break
			}
			fmt.Fprintf(w, "  %s\n", b)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func renderSSIS(w io.Writer, p ssisView) {
	state := "not converged"
	switch {
	case p.ReconciledAt == nil:
		state = "never reconciled"
	case p.Unknown != "":
		state = "ROLE UNKNOWN: nothing was changed"
	case p.Converged:
		state = "converged"
	}
	at := ""
	if p.ReconciledAt != nil {
		at = "  reconciled " + fmtTime(p.ReconciledAt)
	}
	fmt.Fprintf(w, "%s%s  %s\n", p.Pair, at, state)
	if len(p.Sides) > 0 {
		tw := newTable(w)
		row(tw, "  SIDE", "ROLE", "SERVES SSISDB", "RUNTIME", "STATE", "WANTED", "TRIGGERS", "SCHEDULES")
		for _, s := range p.Sides {
			var trig, sched []string
			for _, t := range s.Triggers {
				trig = append(trig, t.Name+"="+t.State)
			}
			for _, sc := range s.Schedules {
				name := sc.Name
				if name == "" {
					name = fmt.Sprint(sc.ID)
				}
				sched = append(sched, fmt.Sprintf("%s enabled=%t", name, sc.Enabled))
			}
			if len(sched) == 0 && s.Agent != "" {
				sched = []string{s.Agent}
			}
			stateCell := dash(s.RuntimeState)
			if s.InFlight != "" {
				stateCell += " (" + s.InFlight + ")"
			}
			row(tw, "  "+s.Side, dash(s.Role), yesNo(s.Serves), dash(s.Runtime), stateCell, dash(s.RuntimeWant), dash(strings.Join(trig, " ")), dash(strings.Join(sched, "; ")))
		}
		tw.Flush()
	}
	if p.Unknown != "" {
		fmt.Fprintf(w, "  role unknown: %s\n", p.Unknown)
	}
	if p.Serving != "" {
		fmt.Fprintf(w, "  serving: the %s side's runtime serves SSISDB (attach-ir)\n", p.Serving)
	}
	for _, f := range p.InFlight {
		fmt.Fprintf(w, "  in flight: %s\n", f)
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  changed: %s\n", c)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(w, "  problem: %s\n", pr)
	}
}

// plural is "1 change", "2 changes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
