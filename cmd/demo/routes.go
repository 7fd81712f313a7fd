package main

import (
	"fmt"
	"strings"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
)

// traffic reads where the demo's routers send partners and which side's Standard
// intake workflow runs, as the stand-in holds them now.
type traffic struct {
	routed  [2]bool // every route of the side is enabled
	dark    [2]bool // no route of the side is enabled
	running [2]bool // the side's Standard intake workflow is not disabled
}

func readTraffic(arm *armstandin.Server) traffic {
	var t traffic
	for i, s := range localstack.RoutingSides() {
		on := 0
		for _, id := range []string{s.TrafficManagerEndpointID(), s.FrontDoorOriginID()} {
			if enabled, ok := arm.RouteEnabled(id); ok && enabled {
				on++
			}
		}
		t.routed[i], t.dark[i] = on == 2, on == 0
		flow := arm.SiteSettings(s.Group, s.App)["Workflows."+localstack.StandardWorkflowName+".FlowState"]
		t.running[i] = !strings.EqualFold(flow, "Disabled")
	}
	return t
}

// only says the routers send partners to side i alone. The old side's Standard intake
// is not part of it: while that side's region is down its fence is pending, and the
// demo shows it landing when the region is back.
func (t traffic) only(i int) bool { return t.routed[i] && t.dark[1-i] && t.running[i] }

func (t traffic) String() string {
	sides := localstack.RoutingSides()
	var to []string
	for i, s := range sides {
		if t.routed[i] {
			to = append(to, s.Route)
		}
	}
	where := "nowhere"
	if len(to) > 0 {
		where = strings.Join(to, " and ")
	}
	flow := func(i int) string {
		if t.running[i] {
			return "on"
		}
		return "off"
	}
	line := fmt.Sprintf("Traffic Manager and Front Door → %s; Standard intake %s %s, %s %s", where, sides[0].Route, flow(0), sides[1].Route, flow(1))
	if t.running[0] && t.running[1] {
		// Only while a region is down: its intake's fence is pending, and it lands
		// when the region answers (the demo's step 7).
		line += " (the old side's until its fence lands)"
	}
	return line
}

func routedNote(ok bool) string {
	if ok {
		return "routes and intake moved with the plan"
	}
	return "NOT where the plan should have left it"
}
