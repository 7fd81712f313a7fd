package config

import (
	"strings"
	"testing"
)

const (
	tmPrimary   = "/subscriptions/s/resourceGroups/b2b-routing/providers/Microsoft.Network/trafficManagerProfiles/contoso-b2b/azureEndpoints/ep-weu"
	tmSecondary = "/subscriptions/s/resourceGroups/b2b-routing/providers/Microsoft.Network/trafficManagerProfiles/contoso-b2b/externalEndpoints/ep-neu"
	afdOrigin   = "/subscriptions/s/resourceGroups/b2b-routing/providers/Microsoft.Cdn/profiles/contoso-afd/originGroups/b2b/origins/neu"
	standardWF  = "/subscriptions/s/resourceGroups/b2b-northeurope/providers/Microsoft.Web/sites/contoso-la-neu/workflows/x12-intake"
	consumption = "/subscriptions/s/resourceGroups/b2b-westeurope/providers/Microsoft.Logic/workflows/x12-intake"
)

func TestRoutesAndStandardWorkflowsAreRead(t *testing.T) {
	topo := `{"pairs":[{"name":"a","primary":"` + weu + `","secondary":"` + neu + `","failover":{` +
		`"primaryWorkflows":["` + consumption + `"],"secondaryWorkflows":["` + standardWF + `"],` +
		`"primaryRoutes":["` + tmPrimary + `"],"secondaryRoutes":["` + tmSecondary + `","` + afdOrigin + `"]}}]}`
	c, err := Load(env(map[string]string{EnvTopology: topo}))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Pairs[0].Failover
	if len(f.PrimaryRoutes) != 1 || len(f.SecondaryRoutes) != 2 || f.SecondaryWorkflows[0] != standardWF {
		t.Fatalf("failover %+v", f)
	}
	ids, _ := c.PairResources("a")
	if !strings.Contains(strings.Join(ids, " "), afdOrigin) {
		t.Fatalf("the pair's resources leave out its routes: %v", ids)
	}
}

func TestABadRouteOrWorkflowNamesItsField(t *testing.T) {
	pair := func(failover string) string {
		return `{"pairs":[{"name":"a","primary":"` + weu + `","secondary":"` + neu + `","failover":{` + failover + `}}]}`
	}
	tests := []struct {
		name, failover, field, says string
	}{
		{"a route that is a whole profile", `"primaryRoutes":["/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficManagerProfiles/p"]`, "pairs[0].failover.primaryRoutes[0]", "Traffic Manager endpoint"},
		{"a route of another kind of endpoint collection", `"secondaryRoutes":["/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficManagerProfiles/p/heatMaps/default"]`, "pairs[0].failover.secondaryRoutes[0]", "Front Door origin"},
		{"a Front Door origin group instead of an origin", `"secondaryRoutes":["/subscriptions/s/resourceGroups/g/providers/Microsoft.Cdn/profiles/p/originGroups/b2b"]`, "pairs[0].failover.secondaryRoutes[0]", "origins/{name}"},
		{"the same route on both sides", `"primaryRoutes":["` + tmPrimary + `"],"secondaryRoutes":["` + strings.ToUpper(tmPrimary) + `"]`, "pairs[0].failover.secondaryRoutes[0]", "same route as"},
		{"a Standard app instead of its workflow", `"secondaryWorkflows":["/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app"]`, "pairs[0].failover.secondaryWorkflows[0]", "Microsoft.Web/sites/{app}/workflows/{name}"},
		{"a route without a resource group", `"primaryRoutes":["/subscriptions/s/providers/Microsoft.Network/trafficManagerProfiles/p/azureEndpoints/e"]`, "pairs[0].failover.primaryRoutes[0]", "Traffic Manager endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{EnvTopology: pair(tt.failover)}))
			if err == nil || !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v; want it to name %s and say %q", err, tt.field, tt.says)
			}
		})
	}
}
