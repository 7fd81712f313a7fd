package config

import (
	"fmt"
	"strings"
)

// routeShapes is how a route's resource ID must look, for the error that refuses one.
const routeShapes = "a Traffic Manager endpoint (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/trafficManagerProfiles/{profile}/{azureEndpoints|externalEndpoints|nestedEndpoints}/{name}) or a Front Door origin (/subscriptions/…/resourceGroups/…/providers/Microsoft.Cdn/profiles/{profile}/originGroups/{group}/origins/{name})"

// routes reads a pair's routes: each a Traffic Manager endpoint or a Front Door
// origin, no route listed twice, and none on both sides (a route that is each side's
// would be disabled and enabled by the same move).
func (p *parser) routes(field string, f *failoverJSON, out *Failover) {
	seen := map[string]string{}
	for _, side := range []struct {
		name string
		ids  []string
		dst  *[]string
	}{{"primaryRoutes", f.PrimaryRoutes, &out.PrimaryRoutes}, {"secondaryRoutes", f.SecondaryRoutes, &out.SecondaryRoutes}} {
		for i, id := range side.ids {
			at := fmt.Sprintf("%s.%s[%d]", field, side.name, i)
			if !IsRouteID(id) {
				p.fail(at, fmt.Sprintf("%q is not %s", id, routeShapes))
				continue
			}
			k := strings.ToLower(strings.TrimRight(id, "/"))
			if prev, dup := seen[k]; dup {
				p.fail(at, "is the same route as "+prev)
				continue
			}
			seen[k] = at
		}
		*side.dst = side.ids
	}
}

// IsRouteID checks the shape of a Traffic Manager endpoint's or a Front Door
// origin's resource ID.
func IsRouteID(id string) bool {
	parts, ok := providerParts(id)
	switch {
	case !ok:
		return false
	case len(parts) == 5 && strings.EqualFold(parts[0], "Microsoft.Network") && strings.EqualFold(parts[1], "trafficManagerProfiles"):
		for _, t := range []string{"azureEndpoints", "externalEndpoints", "nestedEndpoints"} {
			if strings.EqualFold(parts[3], t) {
				return true
			}
		}
		return false
	case len(parts) == 7 && strings.EqualFold(parts[0], "Microsoft.Cdn") && strings.EqualFold(parts[1], "profiles"):
		return strings.EqualFold(parts[3], "originGroups") && strings.EqualFold(parts[5], "origins")
	}
	return false
}

// IsWorkflowID checks the shape of a Logic Apps workflow's resource ID: Consumption
// (Microsoft.Logic/workflows/{name}) or Standard
// (Microsoft.Web/sites/{app}/workflows/{name}).
func IsWorkflowID(id string) bool {
	if isResourceID(id, "Microsoft.Logic", "workflows") {
		return true
	}
	parts, ok := providerParts(id)
	return ok && len(parts) == 5 && strings.EqualFold(parts[0], "Microsoft.Web") &&
		strings.EqualFold(parts[1], "sites") && strings.EqualFold(parts[3], "workflows")
}

// providerParts checks /subscriptions/{s}/resourceGroups/{g}/providers/ and returns
// what follows, each part non-empty.
func providerParts(id string) ([]string, bool) {
	if !strings.HasPrefix(id, "/") {
		return nil, false
	}
	parts := strings.Split(strings.TrimPrefix(id, "/"), "/")
	if len(parts) < 6 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") || !strings.EqualFold(parts[4], "providers") {
		return nil, false
	}
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts[5:], true
}
