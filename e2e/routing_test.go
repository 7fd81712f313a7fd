package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/failover"
	"integration-dr/journal"
)

// routes names each side's routes and Standard workflows, as a topology lists them.
type routes struct {
	primary, secondary     []string
	primaryWF, secondaryWF []string
}

// newRoutedStack is newDRStack's pair with routes and Standard intake workflows beside
// its Consumption ones; seed puts them in the stand-in.
func newRoutedStack(t *testing.T, rt routes, seed func(*armstandin.Server)) *drStack {
	t.Helper()
	topo, _ := json.Marshal(map[string]any{"pairs": []map[string]any{{
		"name": localstack.PairName, "overlap": "1m",
		"primary":   localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct),
		"secondary": localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct),
		"failover": map[string]any{
			"primaryWorkflows":   append([]string{localstack.WorkflowID(localstack.PrimaryGroup, intake)}, rt.primaryWF...),
			"secondaryWorkflows": append([]string{localstack.WorkflowID(localstack.SecondaryGroup, intake)}, rt.secondaryWF...),
			"primaryRoutes":      rt.primary, "secondaryRoutes": rt.secondary,
			"settle": "1s", "cooldown": "0s",
		},
	}}})
	settings := map[string]string{
		"DR_TOPOLOGY": string(topo), "DR_COMMAND_QUEUE": commandsQ, "ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
		"DR_REPLICATION_SCHEDULE": "*/10 * * * * *", "DR_OPERATIONS_SCHEDULE": "*/10 * * * * *", "DR_SSIS_SCHEDULE": "*/10 * * * * *",
	}
	s := newStack(t, time.Minute, settings)
	seed(s.arm)
	for _, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
		for _, name := range localstack.SeedAgreements(s.arm, side[0], side[1], 8) {
			if side[0] == localstack.PrimaryGroup {
				for i, level := range []string{"Icn", "Gcn", "Tscn"} {
					s.arm.PutSession(side[0], side[1], name+"-"+level, controlNumber("X12", 1000+i, time.Now()))
				}
			}
		}
	}
	localstack.Workflows(s.arm, localstack.PrimaryGroup, intake)
	s.arm.PutWorkflow(localstack.SecondaryGroup, intake, armlogic.WorkflowStateDisabled)
	if r := s.tick(); r.Status != http.StatusOK {
		t.Fatalf("first sync: %d %v", r.Status, r.Logs)
	}
	s.requireConverged()
	app, err := hostsim.Load(filepath.Join("..", "functions"), s.env)
	if err != nil {
		t.Fatal(err)
	}
	return &drStack{stack: s, host: hostsim.New(app, s.handler.URL, hostsim.Options{})}
}

// demoRoutes are the local stack's routes: a Traffic Manager endpoint and a Front Door
// origin per side, in one global group, and a Standard app per side.
func demoRoutes() routes {
	sides := localstack.RoutingSides()
	p, s := sides[0], sides[1]
	return routes{
		primary: []string{p.TrafficManagerEndpointID(), p.FrontDoorOriginID()}, secondary: []string{s.TrafficManagerEndpointID(), s.FrontDoorOriginID()},
		primaryWF: []string{p.StandardWorkflowID()}, secondaryWF: []string{s.StandardWorkflowID()},
	}
}

func seedDemoRoutes(arm *armstandin.Server) { localstack.SeedRouting(arm) }

// routeEvent is one route write the stand-in served: which side, on or off, when.
type routeEvent struct {
	primary, on bool
	at          time.Time
}

// routeEvents reads the route writes of group served at or after since, in order.
func routeEvents(t *testing.T, arm *armstandin.Server, group string, since time.Time) []routeEvent {
	t.Helper()
	var out []routeEvent
	for _, w := range arm.Writes(group, "") {
		if w.Op != "routes.update" || w.At.Before(since) {
			continue
		}
		var c map[string]string
		_ = json.Unmarshal(w.Content, &c)
		state := c["endpointStatus"] + c["enabledState"]
		if state == "" {
			continue
		}
		primary := strings.HasSuffix(w.Name, "/weu") || strings.Contains(w.Name, "-weu/")
		out = append(out, routeEvent{primary: primary, on: strings.EqualFold(state, "Enabled"), at: w.At})
	}
	return out
}

// routedWindows replays route writes from every route of the old side on and every
// route of the new side off: it fails if both sides were ever routed at once, and
// returns how long neither was.
func routedWindows(t *testing.T, events []routeEvent, oldIsPrimary bool, perSide int) time.Duration {
	t.Helper()
	on := map[bool]int{oldIsPrimary: perSide, !oldIsPrimary: 0}
	var neither time.Duration
	var since time.Time
	for _, e := range events {
		if e.on {
			on[e.primary]++
		} else {
			on[e.primary]--
		}
		if on[true] > 0 && on[false] > 0 {
			t.Fatalf("both sides routed at %s", e.at.Format(time.RFC3339Nano))
		}
		switch {
		case on[true] == 0 && on[false] == 0 && since.IsZero():
			since = e.at
		case (on[true] > 0 || on[false] > 0) && !since.IsZero():
			neither += e.at.Sub(since)
			since = time.Time{}
		}
	}
	if !since.IsZero() {
		t.Fatal("the move ended with neither side routed")
	}
	return neither
}

// checkMove checks one move's route writes against its target's session writes and
// its journal: the old side's routes off before any write into the target after the
// command, the new side's on after the last bump and the settle, never both routed,
// and neither routed no longer than from stop-old to enable-target.
func checkMove(t *testing.T, d *drStack, id string, start time.Time, oldIsPrimary bool, targetGroup, targetAcct string) {
	t.Helper()
	op := d.journalOp(id)
	events := routeEvents(t, d.arm, localstack.RoutingGroup, start)
	if len(events) != 4 {
		t.Fatalf("%s: %d route writes, want 4 (two routes off, two on): %+v", id, len(events), events)
	}
	var writes []time.Time
	for _, w := range d.arm.Writes(targetGroup, targetAcct) {
		if w.Op == "sessions.put" && !w.At.Before(start) {
			writes = append(writes, w.At)
		}
	}
	if len(writes) == 0 {
		t.Fatalf("%s: no bump written", id)
	}
	lastOff, firstOn := time.Time{}, time.Time{}
	for _, e := range events {
		if e.primary == oldIsPrimary && !e.on {
			lastOff = e.at
		}
		if e.primary != oldIsPrimary && e.on && firstOn.IsZero() {
			firstOn = e.at
		}
	}
	if !lastOff.Before(writes[0]) {
		t.Errorf("%s: the old side's routes were disabled at %s, after the first write into the target at %s", id, lastOff.Format(time.RFC3339Nano), writes[0].Format(time.RFC3339Nano))
	}
	bumped := op.StepByName(failover.StepBump).Ended
	if settle := bumped.Add(time.Second); firstOn.Before(settle) || firstOn.Before(writes[len(writes)-1]) {
		t.Errorf("%s: the new side was routed at %s, before the bumps settled (%s)", id, firstOn.Format(time.RFC3339Nano), settle.Format(time.RFC3339Nano))
	}
	neither := routedWindows(t, events, oldIsPrimary, 2)
	stop := op.StepByName(failover.StepStopOld)
	if stop == nil {
		stop = op.StepByName(failover.StepStopIntake)
	}
	bound := op.StepByName(failover.StepEnable).Ended.Sub(stop.Started)
	if neither > bound {
		t.Errorf("%s: neither side routed for %s, more than from stop to enable (%s)", id, neither, bound)
	}
	t.Logf("%s: neither side routed for %.3f s (stop to enable-target %.3f s); %d writes into the target between", id, neither.Seconds(), bound.Seconds(), len(writes))
}

func TestAFailoverAndFallbackMoveTheRoutesAroundTheBumps(t *testing.T) {
	rt := demoRoutes()
	d := newRoutedStack(t, rt, seedDemoRoutes)
	start := time.Now()
	d.command(`{"id":"fo-r","action":"failover","pair":"` + localstack.PairName + `"}`)
	d.advance("the failover", func() bool { return d.journalOp("fo-r").Status == journal.Succeeded })
	for _, id := range rt.secondary {
		if on, _ := d.arm.RouteEnabled(id); !on {
			t.Fatalf("after the failover %s is not enabled", id)
		}
	}
	checkMove(t, d, "fo-r", start, true, localstack.SecondaryGroup, localstack.SecondaryAcct)

	d.tick()
	start = time.Now()
	d.command(`{"id":"fb-r","action":"fallback","pair":"` + localstack.PairName + `"}`)
	d.advance("the fallback", func() bool {
		d.tick()
		return d.journalOp("fb-r").Status == journal.Succeeded
	})
	for _, id := range rt.primary {
		if on, _ := d.arm.RouteEnabled(id); !on {
			t.Fatalf("after the fallback %s is not enabled", id)
		}
	}
	checkMove(t, d, "fb-r", start, false, localstack.PrimaryGroup, localstack.PrimaryAcct)
}

func TestAStandardWorkflowIsSwitchedWithoutLosingTheAppsOtherSettings(t *testing.T) {
	d := newRoutedStack(t, demoRoutes(), seedDemoRoutes)
	sides := localstack.RoutingSides()
	before := [2]map[string]string{}
	for i, s := range sides {
		before[i] = d.arm.SiteSettings(s.Group, s.App)
	}
	d.command(`{"id":"fo-s","action":"failover","pair":"` + localstack.PairName + `"}`)
	d.advance("the failover", func() bool { return d.journalOp("fo-s").Status == journal.Succeeded })
	flow := "Workflows." + localstack.StandardWorkflowName + ".FlowState"
	for i, want := range []string{"Disabled", "Enabled"} {
		s := sides[i]
		after := d.arm.SiteSettings(s.Group, s.App)
		if !strings.EqualFold(after[flow], want) {
			t.Errorf("%s: %s is %q, want %s", s.App, flow, after[flow], want)
		}
		for k, v := range before[i] {
			if k != flow && after[k] != v {
				t.Errorf("%s: setting %s was %q, is %q after the failover", s.App, k, v, after[k])
			}
		}
		if len(after) != len(before[i]) {
			t.Errorf("%s: %d settings before, %d after", s.App, len(before[i]), len(after))
		}
	}
	if n := d.arm.Restarts(sides[1].Group, sides[1].App); n != 1 {
		t.Errorf("the new side's app was restarted %d times; want once (only a setting that differs is written)", n)
	}
}

func TestAnOldRouteThatCannotBeReachedIsFencedOnceItAnswers(t *testing.T) {
	const oldGroup, newGroup = "rg-edge-weu", "rg-edge-neu"
	id := func(group, profile, name string) string {
		return "/subscriptions/" + localstack.Subscription + "/resourceGroups/" + group + "/providers/Microsoft.Network/trafficManagerProfiles/" + profile + "/externalEndpoints/" + name
	}
	rt := routes{primary: []string{id(oldGroup, "contoso-b2b-weu", "weu")}, secondary: []string{id(newGroup, "contoso-b2b-neu", "neu")}}
	d := newRoutedStack(t, rt, func(arm *armstandin.Server) {
		// Each side's route in a profile of its own group, so that the old side's
		// can be cut off while the new side's answers.
		arm.PutTrafficManagerEndpoint(oldGroup, "contoso-b2b-weu", "externalEndpoints", "weu", "contoso-la-weu.azurewebsites.net", true, localstack.PrimaryGroup)
		arm.PutTrafficManagerEndpoint(newGroup, "contoso-b2b-neu", "externalEndpoints", "neu", "contoso-la-neu.azurewebsites.net", false, localstack.SecondaryGroup)
	})
	d.arm.SetUnreachable(oldGroup, "", true)
	d.command(`{"id":"fo-u","action":"failover","pair":"` + localstack.PairName + `"}`)
	d.advance("the flip", func() bool { return d.checkpoint().Epoch == 1 })
	op := d.journalOp("fo-u")
	fence := op.StepByName(failover.StepFenceOld)
	if op.Status != journal.Waiting || fence.Status != journal.StepWaiting || !strings.Contains(fence.Outcome, "weu") {
		t.Fatalf("after the flip: %s, fence %+v; want the route's fence pending", op.Status, fence)
	}
	if on, _ := d.arm.RouteEnabled(rt.secondary[0]); !on {
		t.Fatal("the new side was not routed")
	}
	if !strings.Contains(op.StepByName(failover.StepEnable).Outcome, "both sides may be routed") {
		t.Errorf("enable-target does not say both sides may be routed: %q", op.StepByName(failover.StepEnable).Outcome)
	}
	// The timer keeps it pending while the group does not answer.
	for range 2 {
		if _, err := d.host.Timer(d.ctx, "AdvanceOperations", time.Now(), hostsim.TimerStatus{Unmonitored: true}); err != nil {
			t.Fatal(err)
		}
	}
	if op := d.journalOp("fo-u"); op.Status != journal.Waiting || op.StepByName(failover.StepFenceOld).Status != journal.StepWaiting {
		t.Fatalf("with the route's group still cut off: %s; want the fence pending", op.Status)
	}
	if d.workflowOn(localstack.PrimaryGroup) {
		t.Error("the old side's workflow is still on")
	}
	d.arm.SetUnreachable(oldGroup, "", false)
	d.advance("the fence", func() bool { return d.journalOp("fo-u").Status == journal.Succeeded })
	if on, _ := d.arm.RouteEnabled(rt.primary[0]); on {
		t.Fatal("the old side's route is still enabled after its fence landed")
	}
	done := d.journalOp("fo-u")
	t.Logf("fence: %s", done.StepByName(failover.StepFenceOld).Changes)
}
