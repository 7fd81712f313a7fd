package localstack

import (
	"fmt"

	"integration-dr/dev/armstandin"
)

// The demo's routes: partners reach the pair through a Traffic Manager profile and a
// Front Door profile in a global resource group, with one endpoint (and one origin)
// per side, and each side runs a Logic Apps Standard app holding the intake workflow.
// The primary's route and workflow are enabled, the secondary's disabled.
const (
	RoutingGroup          = "rg-global"
	TrafficManagerProfile = "contoso-b2b-tm"
	FrontDoorProfile      = "contoso-b2b-afd"
	FrontDoorOriginGroup  = "as2-intake"
	StandardWorkflowName  = "as2-intake"
)

// RoutingSide is one side of the demo's routes, by the names its resources have.
type RoutingSide struct {
	// Group is the side's regional resource group: its app lives there, and its
	// Traffic Manager endpoint reports Degraded while the group is cut off.
	Group string
	// Route names the side's Traffic Manager endpoint and Front Door origin.
	Route string
	// App is the side's Logic Apps Standard app.
	App string
}

// RoutingSides are the demo's primary and secondary sides.
func RoutingSides() [2]RoutingSide {
	return [2]RoutingSide{
		{Group: PrimaryGroup, Route: "weu", App: "contoso-la-weu"},
		{Group: SecondaryGroup, Route: "neu", App: "contoso-la-neu"},
	}
}

// Host is the host name the side's routes send traffic to.
func (s RoutingSide) Host() string { return s.App + ".azurewebsites.net" }

// TrafficManagerEndpointID is the resource ID of the side's Traffic Manager endpoint.
func (s RoutingSide) TrafficManagerEndpointID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/trafficManagerProfiles/%s/azureEndpoints/%s",
		Subscription, RoutingGroup, TrafficManagerProfile, s.Route)
}

// FrontDoorOriginID is the resource ID of the side's Front Door origin.
func (s RoutingSide) FrontDoorOriginID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Cdn/profiles/%s/originGroups/%s/origins/%s",
		Subscription, RoutingGroup, FrontDoorProfile, FrontDoorOriginGroup, s.Route)
}

// StandardWorkflowID is the resource ID of the intake workflow in the side's app.
func (s RoutingSide) StandardWorkflowID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Web/sites/%s/workflows/%s",
		Subscription, s.Group, s.App, StandardWorkflowName)
}

// RoutingIDs are one side's resource IDs, as a configuration names them.
type RoutingIDs struct {
	TrafficManagerEndpoint string
	FrontDoorOrigin        string
	StandardWorkflow       string
}

// SeedRouting sets the demo's routes and Standard apps up as a pair in normal
// operation: the primary's endpoint, origin and intake workflow enabled, the
// secondary's disabled. Each app also holds settings unrelated to the switch, which a
// switch must leave as they are. It returns the IDs of the primary's and the
// secondary's resources, in that order.
func SeedRouting(arm *armstandin.Server) [2]RoutingIDs {
	var out [2]RoutingIDs
	for i, s := range RoutingSides() {
		primary := i == 0
		flow := "Disabled"
		if primary {
			flow = "Enabled"
		}
		arm.PutTrafficManagerEndpoint(RoutingGroup, TrafficManagerProfile, "azureEndpoints", s.Route, s.Host(), primary, s.Group)
		arm.PutFrontDoorOrigin(RoutingGroup, FrontDoorProfile, FrontDoorOriginGroup, s.Route, s.Host(), primary)
		arm.PutSite(s.Group, s.App, map[string]string{
			"Workflows." + StandardWorkflowName + ".FlowState": flow,
			"FUNCTIONS_EXTENSION_VERSION":                      "~4",
			"FUNCTIONS_WORKER_RUNTIME":                         "dotnet",
			"APP_KIND":                                         "workflowApp",
			"AzureFunctionsJobHost__extensionBundle__id":       "Microsoft.Azure.Functions.ExtensionBundle.Workflows",
			"Partner.Contoso.AS2Identifier":                    "CONTOSO-" + s.Route,
		})
		out[i] = RoutingIDs{TrafficManagerEndpoint: s.TrafficManagerEndpointID(), FrontDoorOrigin: s.FrontDoorOriginID(), StandardWorkflow: s.StandardWorkflowID()}
	}
	return out
}
