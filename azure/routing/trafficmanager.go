package routing

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/trafficmanager/armtrafficmanager"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// TrafficManagerEndpoint is one side's endpoint in a Traffic Manager profile.
// Disabling it takes the side out of DNS answers (after the profile's TTL); the
// endpoint and its settings stay, so enabling it again is the whole undo.
type TrafficManagerEndpoint struct {
	client  *armtrafficmanager.EndpointsClient
	group   string
	profile string
	typ     armtrafficmanager.EndpointType
	name    string
	// id and resType are sent back in the PATCH body, as ARM's own examples do.
	id, resType string
}

// NewTrafficManagerEndpoint returns the endpoint named by its ARM resource ID:
// .../providers/Microsoft.Network/trafficManagerProfiles/{profile}/{azureEndpoints|externalEndpoints|nestedEndpoints}/{name}.
func NewTrafficManagerEndpoint(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*TrafficManagerEndpoint, error) {
	id, err := parseTrafficManagerID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armtrafficmanager.NewEndpointsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "traffic manager endpoints client", err)
	}
	seg := endpointType(id)
	var typ armtrafficmanager.EndpointType
	for _, t := range armtrafficmanager.PossibleEndpointTypeValues() {
		if strings.EqualFold(string(t), seg) {
			typ = t
		}
	}
	return &TrafficManagerEndpoint{
		client: c, group: id.ResourceGroupName, profile: id.Parent.Name, typ: typ, name: id.Name,
		id: resourceID, resType: "Microsoft.Network/trafficManagerProfiles/" + seg,
	}, nil
}

// Name is "tm {profile}/{endpoint}".
func (e *TrafficManagerEndpoint) Name() string { return "tm " + e.profile + "/" + e.name }

// State reads the endpoint: whether it is enabled, its monitor status, its target;
// drerr.NotFound if the profile or endpoint does not exist.
func (e *TrafficManagerEndpoint) State(ctx context.Context) (State, error) {
	resp, err := e.client.Get(ctx, e.group, e.profile, e.typ, e.name, nil)
	if err != nil {
		return State{}, azerr.Wrap("get "+e.Name(), err)
	}
	p := resp.Properties
	if p == nil || p.EndpointStatus == nil {
		return State{}, drerr.Errorf(drerr.Internal, "get "+e.Name(), "%s reports no endpoint status", e.Name())
	}
	st := State{Enabled: strings.EqualFold(string(*p.EndpointStatus), string(armtrafficmanager.EndpointStatusEnabled))}
	if p.EndpointMonitorStatus != nil && !strings.EqualFold(string(*p.EndpointMonitorStatus), string(armtrafficmanager.EndpointMonitorStatusDisabled)) {
		st.Health = string(*p.EndpointMonitorStatus)
	}
	switch {
	case p.Target != nil:
		st.Target = *p.Target
	case p.TargetResourceID != nil: // a nested endpoint names a profile, not a host
		st.Target = *p.TargetResourceID
	}
	return st, nil
}

// Enable puts the endpoint back into DNS answers. An enabled endpoint is left alone.
func (e *TrafficManagerEndpoint) Enable(ctx context.Context) error { return e.set(ctx, true) }

// Disable takes the endpoint out of DNS answers. A disabled endpoint is left alone.
func (e *TrafficManagerEndpoint) Disable(ctx context.Context) error { return e.set(ctx, false) }

func (e *TrafficManagerEndpoint) set(ctx context.Context, enable bool) error {
	status := armtrafficmanager.EndpointStatusDisabled
	if enable {
		status = armtrafficmanager.EndpointStatusEnabled
	}
	op := fmt.Sprintf("%s %s", verb(enable), e.Name())
	return converge(ctx, op, enable, e.State, func(ctx context.Context) error {
		// A PATCH with the status alone: every other property of the endpoint
		// (target, priority, weight, geo mapping) stays as its owner set it.
		_, err := e.client.Update(ctx, e.group, e.profile, e.typ, e.name, armtrafficmanager.Endpoint{
			ID: to.Ptr(e.id), Name: to.Ptr(e.name), Type: to.Ptr(e.resType),
			Properties: &armtrafficmanager.EndpointProperties{EndpointStatus: to.Ptr(status)},
		}, nil)
		return err
	})
}
