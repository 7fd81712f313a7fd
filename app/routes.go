package app

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"integration-dr/azure/logic"
	"integration-dr/azure/routing"
	"integration-dr/failover"
)

// router is what the routing adapters offer; route turns their State into the
// domain's.
type router interface {
	Name() string
	Enable(ctx context.Context) error
	Disable(ctx context.Context) error
	State(ctx context.Context) (routing.State, error)
}

// route is a routing adapter as a failover plan sees it.
type route struct{ router }

func (r route) State(ctx context.Context) (failover.RouteState, error) {
	s, err := r.router.State(ctx)
	return failover.RouteState{Enabled: s.Enabled, Health: s.Health, Target: s.Target}, err
}

var _ failover.Route = route{}

// newRoute builds the adapter of a route's resource ID: a Traffic Manager endpoint
// or a Front Door origin.
func newRoute(id string, cred azcore.TokenCredential, opts *arm.ClientOptions) (failover.Route, error) {
	if strings.Contains(strings.ToLower(id), "/providers/microsoft.network/trafficmanagerprofiles/") {
		ep, err := routing.NewTrafficManagerEndpoint(id, cred, opts)
		if err != nil {
			return nil, err
		}
		return route{ep}, nil
	}
	o, err := routing.NewFrontDoorOrigin(id, cred, opts)
	if err != nil {
		return nil, err
	}
	return route{o}, nil
}

// newWorkflow builds the adapter of a workflow's resource ID: a Standard app's
// workflow (switched through its app's settings) or a Consumption one.
func newWorkflow(id string, cred azcore.TokenCredential, opts *arm.ClientOptions) (failover.Workflow, error) {
	if _, err := logic.ParseStandardWorkflowID(id); err == nil {
		return logic.NewStandardWorkflow(id, cred, opts)
	}
	return logic.NewWorkflow(id, cred, opts)
}
