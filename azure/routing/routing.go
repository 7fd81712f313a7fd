// Package routing switches partner traffic between the regions at the router in
// front of them: a Traffic Manager endpoint (armtrafficmanager) or an Azure Front
// Door Standard/Premium origin (armcdn). It is the only package that touches either
// SDK. Each route is one side's entry in its router; a failover enables the
// target's and disables the old side's.
package routing

import (
	"context"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// State is a route as its router reports it.
type State struct {
	Enabled bool
	// Health is the router's own view of the endpoint ("Online", "Degraded",
	// "CheckingEndpoint", ...); "" when the router reports none: Front Door origins
	// never do, and Traffic Manager says "Disabled" for a disabled endpoint, which
	// Enabled already tells.
	Health string
	// Target is the host name (or resource) the route sends traffic to.
	Target string
}

// The resource types a route can be, as ARM spells them (compared case-insensitively).
const (
	afdOriginType = "Microsoft.Cdn/profiles/originGroups/origins"

	tmShape  = "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/trafficManagerProfiles/{profile}/{azureEndpoints|externalEndpoints|nestedEndpoints}/{name}"
	afdShape = "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}/originGroups/{group}/origins/{name}"
)

// tmEndpointTypes are the endpoint collections of a Traffic Manager profile.
var tmEndpointTypes = [...]string{"azureEndpoints", "externalEndpoints", "nestedEndpoints"}

// IsRouteID reports whether resourceID names a Traffic Manager endpoint or a Front
// Door origin, for validating configuration before any client is built.
func IsRouteID(resourceID string) bool {
	if _, err := parseTrafficManagerID(resourceID); err == nil {
		return true
	}
	_, err := parseFrontDoorID(resourceID)
	return err == nil
}

// parseID parses resourceID and checks that it names one resource in a resource
// group: arm.ParseResourceID also accepts a path that stops at a collection or skips
// the resource group.
func parseID(op, resourceID, shape string) (*arm.ResourceID, error) {
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q: %v; want %s", resourceID, err, shape)
	}
	if id.SubscriptionID == "" || id.ResourceGroupName == "" || id.Name == "" || id.Parent == nil || id.Parent.Name == "" {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q lacks a subscription, resource group, parent or name; want %s", resourceID, shape)
	}
	return id, nil
}

func parseTrafficManagerID(resourceID string) (*arm.ResourceID, error) {
	const op = "parse traffic manager endpoint id"
	id, err := parseID(op, resourceID, tmShape)
	if err != nil {
		return nil, err
	}
	rt := id.ResourceType
	if !strings.EqualFold(rt.Namespace, "Microsoft.Network") || len(rt.Types) != 2 ||
		!strings.EqualFold(rt.Types[0], "trafficManagerProfiles") || endpointType(id) == "" {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q is a %s; want %s", resourceID, rt, tmShape)
	}
	return id, nil
}

// endpointType is the canonical name of the endpoint collection id is in, "" if it
// is none of them.
func endpointType(id *arm.ResourceID) string {
	last := id.ResourceType.Types[len(id.ResourceType.Types)-1]
	for _, t := range tmEndpointTypes {
		if strings.EqualFold(t, last) {
			return t
		}
	}
	return ""
}

func parseFrontDoorID(resourceID string) (*arm.ResourceID, error) {
	const op = "parse front door origin id"
	id, err := parseID(op, resourceID, afdShape)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(id.ResourceType.String(), afdOriginType) || id.Parent.Parent == nil || id.Parent.Parent.Name == "" {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q is a %s; want %s", resourceID, id.ResourceType, afdShape)
	}
	return id, nil
}

// converge makes a route enabled or disabled, idempotently: it reads first and writes
// only when the route is not already there (a read is cheaper than a write under
// ARM's limits, and a router may treat any write as a reconfiguration). Where the
// write fails, the route is read again, and one found in the wanted state (another
// operator, a retried step) counts as success.
func converge(ctx context.Context, op string, enable bool, state func(context.Context) (State, error), write func(context.Context) error) error {
	cur, err := state(ctx)
	if err != nil {
		return err
	}
	if cur.Enabled == enable {
		return nil
	}
	if werr := write(ctx); werr != nil {
		if cur, err := state(ctx); err == nil && cur.Enabled == enable {
			return nil
		}
		return azerr.Wrap(op, werr)
	}
	return nil
}

func verb(enable bool) string {
	if enable {
		return "enable"
	}
	return "disable"
}
