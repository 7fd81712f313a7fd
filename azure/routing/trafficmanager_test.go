package routing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/trafficmanager/armtrafficmanager"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/trafficmanager/armtrafficmanager/fake"

	"integration-dr/azure/routing"
	"integration-dr/drerr"
)

const tmID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-global/providers/Microsoft.Network/trafficManagerProfiles/contoso-as2/azureEndpoints/weu"

// onFake builds an adapter whose client talks to tr, without retries.
func onFake[T any](t *testing.T, tr policy.Transporter, build func(azcore.TokenCredential, *arm.ClientOptions) (T, error)) T {
	t.Helper()
	v, err := build(&azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tmEndpoint is a fake endpoint as Traffic Manager keeps it.
type tmEndpoint struct {
	status armtrafficmanager.EndpointStatus
	target string
	weight int64
}

// profile is a fake Traffic Manager profile: endpoints by type and name; it reports a
// monitor status of Online for enabled endpoints and Disabled for disabled ones.
type profile struct {
	endpoints map[string]*tmEndpoint // by "EndpointType/name"
	gets      int
	patches   []armtrafficmanager.Endpoint
}

func (p *profile) server() *fake.EndpointsServer {
	view := func(typ armtrafficmanager.EndpointType, name string, e *tmEndpoint) armtrafficmanager.Endpoint {
		monitor := armtrafficmanager.EndpointMonitorStatusOnline
		if e.status == armtrafficmanager.EndpointStatusDisabled {
			monitor = armtrafficmanager.EndpointMonitorStatusDisabled
		}
		return armtrafficmanager.Endpoint{Name: to.Ptr(name), Properties: &armtrafficmanager.EndpointProperties{
			EndpointStatus: to.Ptr(e.status), EndpointMonitorStatus: to.Ptr(monitor), Target: to.Ptr(e.target), Weight: to.Ptr(e.weight),
		}}
	}
	return &fake.EndpointsServer{
		Get: func(_ context.Context, group, prof string, typ armtrafficmanager.EndpointType, name string, _ *armtrafficmanager.EndpointsClientGetOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientGetResponse], errResp azfake.ErrorResponder) {
			p.gets++
			e, ok := p.endpoints[string(typ)+"/"+name]
			if !ok || group != "rg-global" || prof != "contoso-as2" {
				errResp.SetResponseError(http.StatusNotFound, "NotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armtrafficmanager.EndpointsClientGetResponse{Endpoint: view(typ, name, e)}, nil)
			return
		},
		Update: func(_ context.Context, _, _ string, typ armtrafficmanager.EndpointType, name string, body armtrafficmanager.Endpoint, _ *armtrafficmanager.EndpointsClientUpdateOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientUpdateResponse], errResp azfake.ErrorResponder) {
			p.patches = append(p.patches, body)
			e, ok := p.endpoints[string(typ)+"/"+name]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "NotFound")
				return
			}
			// PATCH: only what the body sets changes.
			if body.Properties != nil && body.Properties.EndpointStatus != nil {
				e.status = *body.Properties.EndpointStatus
			}
			if body.Properties != nil && body.Properties.Target != nil {
				e.target = *body.Properties.Target
			}
			resp.SetResponse(http.StatusOK, armtrafficmanager.EndpointsClientUpdateResponse{Endpoint: view(typ, name, e)}, nil)
			return
		},
	}
}

func newProfile() *profile {
	return &profile{endpoints: map[string]*tmEndpoint{
		"AzureEndpoints/weu": {status: armtrafficmanager.EndpointStatusEnabled, target: "contoso-as2-weu.azurewebsites.net", weight: 7},
	}}
}

func newTM(t *testing.T, id string, srv *fake.EndpointsServer) *routing.TrafficManagerEndpoint {
	t.Helper()
	return onFake(t, fake.NewEndpointsServerTransport(srv), func(c azcore.TokenCredential, o *arm.ClientOptions) (*routing.TrafficManagerEndpoint, error) {
		return routing.NewTrafficManagerEndpoint(id, c, o)
	})
}

func TestTrafficManagerEndpointRoundTrip(t *testing.T) {
	p := newProfile()
	e := newTM(t, tmID, p.server())
	ctx := context.Background()
	if e.Name() != "tm contoso-as2/weu" {
		t.Errorf("Name %q", e.Name())
	}
	state := func(want routing.State) {
		t.Helper()
		if got, err := e.State(ctx); err != nil || got != want {
			t.Fatalf("state %+v, %v; want %+v", got, err, want)
		}
	}
	const host = "contoso-as2-weu.azurewebsites.net"
	state(routing.State{Enabled: true, Health: "Online", Target: host})
	for range 2 { // the second call finds the endpoint disabled and writes nothing
		if err := e.Disable(ctx); err != nil {
			t.Fatalf("disable: %v", err)
		}
		// Traffic Manager reports a disabled endpoint's monitor status as "Disabled":
		// no health of its own.
		state(routing.State{Enabled: false, Health: "", Target: host})
	}
	for range 2 {
		if err := e.Enable(ctx); err != nil {
			t.Fatalf("enable: %v", err)
		}
		state(routing.State{Enabled: true, Health: "Online", Target: host})
	}
	if len(p.patches) != 2 {
		t.Fatalf("%d patches, want one per actual change", len(p.patches))
	}
	// The PATCH carries the status only, so the endpoint's other settings survive.
	for _, body := range p.patches {
		if pr := body.Properties; pr == nil || pr.Target != nil || pr.Weight != nil || pr.Priority != nil || pr.GeoMapping != nil {
			t.Errorf("patch sets more than the status: %+v", pr)
		}
	}
	if ep := p.endpoints["AzureEndpoints/weu"]; ep.weight != 7 || ep.target != host {
		t.Errorf("endpoint's other settings changed: %+v", ep)
	}
}

func TestTrafficManagerEndpointTypeIsCaseInsensitive(t *testing.T) {
	for _, seg := range []string{"azureEndpoints", "AzureEndpoints", "AZUREENDPOINTS"} {
		p := newProfile()
		id := strings.Replace(tmID, "azureEndpoints", seg, 1)
		if err := newTM(t, id, p.server()).Disable(context.Background()); err != nil {
			t.Errorf("%s: disable: %v", seg, err)
		}
		if p.endpoints["AzureEndpoints/weu"].status != armtrafficmanager.EndpointStatusDisabled {
			t.Errorf("%s: endpoint not disabled", seg)
		}
	}
}

func TestTrafficManagerEndpointErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("a missing endpoint is not found, for reads and writes alike", func(t *testing.T) {
		p := &profile{endpoints: map[string]*tmEndpoint{}}
		e := newTM(t, tmID, p.server())
		if _, err := e.State(ctx); !drerr.Is(err, drerr.NotFound) {
			t.Errorf("State: %v (code %s), want not found", err, drerr.CodeOf(err))
		}
		for name, f := range map[string]func(context.Context) error{"Enable": e.Enable, "Disable": e.Disable} {
			if err := f(ctx); !drerr.Is(err, drerr.NotFound) {
				t.Errorf("%s: %v (code %s), want not found", name, err, drerr.CodeOf(err))
			}
		}
		if len(p.patches) != 0 {
			t.Errorf("%d patches to a missing endpoint", len(p.patches))
		}
	})
	t.Run("a failed write is reported with its code", func(t *testing.T) {
		p := newProfile()
		srv := p.server()
		srv.Update = func(context.Context, string, string, armtrafficmanager.EndpointType, string, armtrafficmanager.Endpoint, *armtrafficmanager.EndpointsClientUpdateOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientUpdateResponse], errResp azfake.ErrorResponder) {
			errResp.SetResponseError(http.StatusServiceUnavailable, "ServiceUnavailable")
			return
		}
		if err := newTM(t, tmID, srv).Disable(ctx); !drerr.Is(err, drerr.Unavailable) {
			t.Errorf("disable: %v (code %s), want unavailable", err, drerr.CodeOf(err))
		}
	})
	t.Run("a write that fails after someone else made the change is no error", func(t *testing.T) {
		p := newProfile()
		srv := p.server()
		srv.Update = func(context.Context, string, string, armtrafficmanager.EndpointType, string, armtrafficmanager.Endpoint, *armtrafficmanager.EndpointsClientUpdateOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientUpdateResponse], errResp azfake.ErrorResponder) {
			p.endpoints["AzureEndpoints/weu"].status = armtrafficmanager.EndpointStatusDisabled
			errResp.SetResponseError(http.StatusConflict, "Conflict")
			return
		}
		if err := newTM(t, tmID, srv).Disable(ctx); err != nil {
			t.Errorf("disable raced by another disable: %v", err)
		}
	})
}

func TestRouteIDs(t *testing.T) {
	for _, tc := range []struct {
		id      string
		tm, afd bool
	}{
		{id: tmID, tm: true},
		{id: strings.Replace(tmID, "azureEndpoints/weu", "externalEndpoints/partner", 1), tm: true},
		{id: strings.Replace(tmID, "azureEndpoints/weu", "nestedEndpoints/child", 1), tm: true},
		{id: strings.ToLower(tmID), tm: true},
		{id: afdID, afd: true},
		{id: strings.ToUpper(afdID[:60]) + afdID[60:], afd: true},
		{id: ""},
		{id: "not-an-id"},
		{id: strings.Replace(tmID, "azureEndpoints", "otherEndpoints", 1)},                                 // no such endpoint collection
		{id: strings.TrimSuffix(tmID, "/weu")},                                                             // the collection, no endpoint
		{id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/trafficManagerProfiles/p"},     // the profile
		{id: strings.TrimSuffix(afdID, "/weu")},                                                            // the origins collection
		{id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Cdn/profiles/p/originGroups/og"},       // the origin group
		{id: "/subscriptions/s/providers/Microsoft.Cdn/profiles/p/originGroups/og/origins/o"},              // no resource group
		{id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Cdn/profiles/p/endpoints/e/origins/o"}, // classic CDN
		{id: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/workflows/wf"},
	} {
		if got := routing.IsRouteID(tc.id); got != (tc.tm || tc.afd) {
			t.Errorf("IsRouteID(%q) = %v", tc.id, got)
		}
		_, tmErr := routing.NewTrafficManagerEndpoint(tc.id, &azfake.TokenCredential{}, nil)
		_, afdErr := routing.NewFrontDoorOrigin(tc.id, &azfake.TokenCredential{}, nil)
		if (tmErr == nil) != tc.tm || (!tc.tm && !drerr.Is(tmErr, drerr.Invalid)) {
			t.Errorf("NewTrafficManagerEndpoint(%q): %v", tc.id, tmErr)
		}
		if (afdErr == nil) != tc.afd || (!tc.afd && !drerr.Is(afdErr, drerr.Invalid)) {
			t.Errorf("NewFrontDoorOrigin(%q): %v", tc.id, afdErr)
		}
		if !tc.tm && tmErr != nil && !strings.Contains(tmErr.Error(), "trafficManagerProfiles/{profile}") {
			t.Errorf("NewTrafficManagerEndpoint(%q): %v does not name the expected form", tc.id, tmErr)
		}
	}
}
