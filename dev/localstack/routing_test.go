package localstack_test

import (
	"context"
	"testing"

	"integration-dr/azure/auth"
	"integration-dr/azure/logic"
	"integration-dr/azure/routing"
	"integration-dr/dev/localstack"
)

// TestSeedRoutingSwitchesOver seeds the demo's routes and drives a failover's switch
// through the product's adapters, with the app's own client options: the secondary's
// routes and workflow on, the primary's off, nothing else touched.
func TestSeedRoutingSwitchesOver(t *testing.T) {
	srv, cfg := standIn(t)
	srv.SetPollsToComplete(0) // the Front Door update completes in its first answer
	ids := localstack.SeedRouting(srv)
	cred, opts, err := auth.ARM(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	type switchable interface {
		Enable(context.Context) error
		Disable(context.Context) error
	}
	var sides [2][]switchable
	for i, id := range ids {
		tm, err := routing.NewTrafficManagerEndpoint(id.TrafficManagerEndpoint, cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		afd, err := routing.NewFrontDoorOrigin(id.FrontDoorOrigin, cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := logic.NewStandardWorkflow(id.StandardWorkflow, cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		sides[i] = []switchable{tm, afd, wf}
	}
	ctx := context.Background()
	primaryApp := localstack.RoutingSides()[0]
	before := srv.SiteSettings(primaryApp.Group, primaryApp.App)
	if before["Workflows."+localstack.StandardWorkflowName+".FlowState"] != "Enabled" {
		t.Fatalf("primary app seeded with %v", before)
	}
	for _, x := range sides[1] {
		if err := x.Enable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range sides[0] {
		if err := x.Disable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		want := i == 1
		for _, route := range []string{id.TrafficManagerEndpoint, id.FrontDoorOrigin} {
			if on, ok := srv.RouteEnabled(route); !ok || on != want {
				t.Errorf("%s enabled %v (exists %v), want %v", route, on, ok, want)
			}
		}
	}
	after := srv.SiteSettings(primaryApp.Group, primaryApp.App)
	for k, v := range before {
		if k != "Workflows."+localstack.StandardWorkflowName+".FlowState" && after[k] != v {
			t.Errorf("primary app setting %s: %q → %q", k, v, after[k])
		}
	}
	if len(after) != len(before) || after["Workflows."+localstack.StandardWorkflowName+".FlowState"] != "Disabled" {
		t.Errorf("primary app settings after the switch: %v", after)
	}
}
