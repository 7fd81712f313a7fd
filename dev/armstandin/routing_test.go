package armstandin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cdn/armcdn"

	"integration-dr/azure/routing"
	"integration-dr/drerr"
)

// The switch slice's topology in these tests: routes in a global resource group,
// pointing at apps in two regional ones.
const (
	rgGlobal          = "rg-global"
	rgPrimary         = "b2b-weu"
	rgSecondary       = "b2b-neu"
	tmProfile         = "tm-b2b"
	afdProfile        = "afd-b2b"
	afdGroup          = "as2"
	hostWEU, hostNEU  = "la-weu.azurewebsites.net", "la-neu.azurewebsites.net"
	endpointsOfGlobal = "/subscriptions/" + sub + "/resourceGroups/" + rgGlobal + "/providers/"
)

func tmEndpointID(name string) string {
	return endpointsOfGlobal + "Microsoft.Network/trafficManagerProfiles/" + tmProfile + "/azureEndpoints/" + name
}

func afdOriginID(name string) string {
	return endpointsOfGlobal + "Microsoft.Cdn/profiles/" + afdProfile + "/originGroups/" + afdGroup + "/origins/" + name
}

// seedRoutes puts one Traffic Manager endpoint and one Front Door origin per side,
// the primary's enabled.
func seedRoutes(s *Server) {
	s.PutTrafficManagerEndpoint(rgGlobal, tmProfile, "azureEndpoints", "weu", hostWEU, true, rgPrimary)
	s.PutTrafficManagerEndpoint(rgGlobal, tmProfile, "AzureEndpoints", "neu", hostNEU, false, rgSecondary)
	s.PutFrontDoorOrigin(rgGlobal, afdProfile, afdGroup, "weu", hostWEU, true)
	s.PutFrontDoorOrigin(rgGlobal, afdProfile, afdGroup, "neu", hostNEU, false)
}

// route is what the tests need of the product's route adapters.
type route interface {
	Name() string
	Enable(context.Context) error
	Disable(context.Context) error
	State(context.Context) (routing.State, error)
}

// routes builds the product's adapter for id against the stand-in, as principal tk.
func routes(t *testing.T, url string, tk token, id string) route {
	t.Helper()
	var r route
	var err error
	if strings.Contains(id, "Microsoft.Cdn") {
		r, err = routing.NewFrontDoorOrigin(id, tk, armOptions(url, true))
	} else {
		r, err = routing.NewTrafficManagerEndpoint(id, tk, armOptions(url, true))
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoutesSwitchedThroughTheAdapters(t *testing.T) {
	for _, tc := range []struct {
		name     string
		id       func(string) string
		wantName string
		content  string // a write's content, with %s the state
		health   string // what an enabled, reachable route reports
	}{
		{"Traffic Manager", tmEndpointID, tmProfile + "/azureEndpoints/", `{"endpointStatus":"%s"}`, "Online"},
		{"Front Door", afdOriginID, afdProfile + "/" + afdGroup + "/", `{"enabledState":"%s"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := serve(t, nil)
			seedRoutes(s)
			s.SetPollsToComplete(1) // one poll, after the one-second Retry-After
			ctx := context.Background()
			weu, neu := routes(t, url, "local-stand-in", tc.id("weu")), routes(t, url, "local-stand-in", tc.id("neu"))
			if st, err := weu.State(ctx); err != nil || st != (routing.State{Enabled: true, Health: tc.health, Target: hostWEU}) {
				t.Fatalf("primary: %+v, %v", st, err)
			}
			if st, err := neu.State(ctx); err != nil || st != (routing.State{Enabled: false, Target: hostNEU}) {
				t.Fatalf("secondary: %+v, %v", st, err)
			}
			// A failover's switch: the secondary in first, then the primary out; each
			// twice, the second a no-op.
			for _, step := range []func(context.Context) error{neu.Enable, neu.Enable, weu.Disable, weu.Disable} {
				if err := step(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for id, want := range map[string]bool{tc.id("weu"): false, tc.id("neu"): true} {
				if got, ok := s.RouteEnabled(id); !ok || got != want {
					t.Errorf("RouteEnabled(%s) = %v, %v; want %v", id, got, ok, want)
				}
			}
			want := []string{
				"routes.update " + tc.wantName + "neu " + strings.Replace(tc.content, "%s", "Enabled", 1),
				"routes.update " + tc.wantName + "weu " + strings.Replace(tc.content, "%s", "Disabled", 1),
			}
			if got := writeStrings(s.Writes(rgGlobal, "")); !slices.Equal(got, want) {
				t.Errorf("Writes = %q, want %q", got, want)
			}
			if st := s.Stats(false)[rgGlobal+"/"]; st["routes.update"] != 2 || st["routes.get"] < 6 {
				t.Errorf("Stats = %v", st)
			}
		})
	}
}

func TestTrafficManagerHealthFollowsTheRegion(t *testing.T) {
	s, url := serve(t, nil)
	seedRoutes(s)
	ctx := context.Background()
	weu, neu := routes(t, url, "local-stand-in", tmEndpointID("weu")), routes(t, url, "local-stand-in", tmEndpointID("neu"))
	s.SetUnreachable(rgPrimary, "", true)
	s.SetUnreachable(rgSecondary, "", true)
	// The primary's region is down: its endpoint is enabled and Degraded. The
	// secondary's is disabled: no health, whatever its region does.
	if st, err := weu.State(ctx); err != nil || st != (routing.State{Enabled: true, Health: "Degraded", Target: hostWEU}) {
		t.Errorf("primary with its region cut off: %+v, %v", st, err)
	}
	if st, err := neu.State(ctx); err != nil || st.Health != "" {
		t.Errorf("disabled secondary: %+v, %v", st, err)
	}
	s.SetUnreachable(rgPrimary, "", false)
	if st, err := weu.State(ctx); err != nil || st.Health != "Online" {
		t.Errorf("primary with its region back: %+v, %v", st, err)
	}
}

func TestRoutesFailures(t *testing.T) {
	s, url := serve(t, nil)
	seedRoutes(s)
	s.SetPollsToComplete(0)
	ctx := context.Background()
	for _, id := range []string{tmEndpointID("weu"), afdOriginID("weu")} {
		r := routes(t, url, "local-stand-in", id)
		t.Run(r.Name()+": a missing route is not found", func(t *testing.T) {
			missing := routes(t, url, "local-stand-in", strings.Replace(id, "/weu", "/nowhere", 1))
			if err := missing.Disable(ctx); !drerr.Is(err, drerr.NotFound) {
				t.Errorf("disable: %v (code %s), want not found", err, drerr.CodeOf(err))
			}
		})
		t.Run(r.Name()+": server errors are unavailable", func(t *testing.T) {
			s.SetFaults(Faults{ServerError: 1})
			defer s.SetFaults(Faults{})
			if _, err := r.State(ctx); !drerr.Is(err, drerr.Unavailable) {
				t.Errorf("state: %v (code %s), want unavailable", err, drerr.CodeOf(err))
			}
		})
		t.Run(r.Name()+": a cut-off global group is unreachable and nothing changes", func(t *testing.T) {
			s.SetUnreachable(rgGlobal, "", true)
			defer s.SetUnreachable(rgGlobal, "", false)
			if err := r.Disable(ctx); !drerr.Is(err, drerr.Unreachable) {
				t.Errorf("disable: %v (code %s), want unreachable", err, drerr.CodeOf(err))
			}
			if on, _ := s.RouteEnabled(id); !on {
				t.Error("a cut-off disable took effect")
			}
		})
	}
	if got := s.Stats(false)[rgGlobal+"/"]["unreachable"]; got < 2 {
		t.Errorf("Stats unreachable = %d, want at least 2", got)
	}
}

// TestFrontDoorUpdateIsLongRunning follows an origin update poll by poll with the
// SDK's own poller: the change takes effect at the completing poll, polls that got no
// answer do not count, and a PATCH during an update completes the pending one first.
func TestFrontDoorUpdateIsLongRunning(t *testing.T) {
	s, url := serve(t, nil)
	seedRoutes(s)
	s.SetPollsToComplete(2)
	ctx := context.Background()
	c, err := armcdn.NewAFDOriginsClient(sub, token("local-stand-in"), armOptions(url, true))
	if err != nil {
		t.Fatal(err)
	}
	update := func(state armcdn.EnabledState) *http.Response {
		t.Helper()
		var first *http.Response
		_, err := c.BeginUpdate(policy.WithCaptureResponse(ctx, &first), rgGlobal, afdProfile, afdGroup, "weu",
			armcdn.AFDOriginUpdateParameters{Properties: &armcdn.AFDOriginUpdatePropertiesParameters{EnabledState: to.Ptr(state)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	first := update(armcdn.EnabledStateDisabled)
	async := first.Header.Get("Azure-AsyncOperation")
	if first.StatusCode != http.StatusAccepted || !strings.HasPrefix(async, url+afdOriginID("weu")+"/operationResults/") || !strings.Contains(async, "api-version=2021-06-01") {
		t.Fatalf("first answer %d, Azure-AsyncOperation %q", first.StatusCode, async)
	}
	got, err := c.Get(ctx, rgGlobal, afdProfile, afdGroup, "weu", nil)
	if err != nil || deref(got.Properties.ProvisioningState) != "Updating" || deref(got.Properties.EnabledState) != "Enabled" {
		t.Fatalf("during the update: %+v, %v", got.Properties, err)
	}
	poll := func() (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, async, nil)
		req.Header.Set("Authorization", "Bearer local-stand-in")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		var body struct{ Status string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		return body.Status, err
	}
	s.SetUnreachable(rgGlobal, "", true)
	if _, err := poll(); err == nil {
		t.Fatal("a poll of a cut-off group got an answer")
	}
	s.SetUnreachable(rgGlobal, "", false)
	if st, err := poll(); err != nil || st != "InProgress" {
		t.Fatalf("first answered poll: %q, %v", st, err)
	}
	if on, _ := s.RouteEnabled(afdOriginID("weu")); !on {
		t.Fatal("the change took effect before the operation completed")
	}
	if st, err := poll(); err != nil || st != "Succeeded" {
		t.Fatalf("second answered poll: %q, %v", st, err)
	}
	if on, _ := s.RouteEnabled(afdOriginID("weu")); on {
		t.Fatal("the completed update did not take effect")
	}
	// Two updates in a row: the second PATCH completes the first.
	update(armcdn.EnabledStateEnabled)
	update(armcdn.EnabledStateDisabled)
	if on, _ := s.RouteEnabled(afdOriginID("weu")); !on {
		t.Error("the pending enable was not completed by the next PATCH")
	}
	if st := s.Stats(false)[rgGlobal+"/"]; st["routes.operationResults"] != 2 || st["routes.update"] != 3 {
		t.Errorf("Stats = %v", st)
	}
}

func TestRoutesThrottledPerPrincipal(t *testing.T) {
	s, url := serve(t, &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	seedRoutes(s)
	s.SetLimits(Limits{WriteBucket: 1, WriteRefillPerSecond: 0.5})
	ctx := context.Background()
	if err := routes(t, url, "app", tmEndpointID("weu")).Disable(ctx); err != nil {
		t.Fatal(err)
	}
	err := routes(t, url, "app", tmEndpointID("neu")).Enable(ctx)
	if !drerr.Is(err, drerr.Throttled) {
		t.Fatalf("second write of the principal: %v (code %s), want throttled", err, drerr.CodeOf(err))
	}
	if err := routes(t, url, "operator", tmEndpointID("neu")).Enable(ctx); err != nil {
		t.Errorf("another principal's write: %v", err)
	}
	if got := s.Stats(false)[rgGlobal+"/"]["throttled"]; got != 1 {
		t.Errorf("Stats throttled = %d", got)
	}
}

func TestRoutesClock(t *testing.T) {
	s, url := serve(t, nil)
	seedRoutes(s)
	s.SetClockOffset(rgGlobal, "", time.Hour)
	var resp *http.Response
	if _, err := routes(t, url, "local-stand-in", tmEndpointID("weu")).State(policy.WithCaptureResponse(context.Background(), &resp)); err != nil {
		t.Fatal(err)
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || date.Sub(time.Now()) < 59*time.Minute {
		t.Errorf("Date %s, want an hour ahead (%v)", resp.Header.Get("Date"), err)
	}
}

// TestSwitchRoutes sends raw requests: each provider at its own api-version.
func TestSwitchRoutes(t *testing.T) {
	s, url := serve(t, nil)
	seedRoutes(s)
	s.PutSite(rgPrimary, "la-weu", map[string]string{"A": "1"})
	site := "/subscriptions/" + sub + "/resourceGroups/" + rgPrimary + "/providers/Microsoft.Web/sites/la-weu/config/appsettings"
	tmLower := strings.Replace(tmEndpointID("weu"), "trafficManagerProfiles", "trafficmanagerprofiles", 1)
	for _, tc := range []struct {
		name, method, path, version string
		status                      int
		code                        string
	}{
		{"endpoint", http.MethodGet, tmLower, "2022-04-01", http.StatusOK, ""},
		{"endpoint at Cdn's version", http.MethodGet, tmLower, "2021-06-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"endpoint delete", http.MethodDelete, tmLower, "2022-04-01", http.StatusNotFound, "NotFound"},
		{"origin", http.MethodGet, afdOriginID("weu"), "2021-06-01", http.StatusOK, ""},
		{"origin at Network's version", http.MethodGet, afdOriginID("weu"), "2022-04-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"unknown origin operation", http.MethodGet, afdOriginID("weu") + "/operationResults/NOSUCH", "2021-06-01", http.StatusNotFound, "OperationNotFound"},
		{"app settings", http.MethodPost, site + "/list", "2024-11-01", http.StatusOK, ""},
		{"app settings at Logic's version", http.MethodPost, site + "/list", "2019-05-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"app settings by GET", http.MethodGet, site, "2024-11-01", http.StatusNotFound, "NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, url+tc.path+"?api-version="+tc.version, nil)
			req.Header.Set("Authorization", "Bearer local-stand-in")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close() // only the status and error code are checked
			if resp.StatusCode != tc.status || resp.Header.Get("x-ms-error-code") != tc.code {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("x-ms-error-code"), tc.status, tc.code)
			}
		})
	}
}

func TestSwitchAdminRoutes(t *testing.T) {
	s, url := serve(t, nil)
	admin(t, url, "/_standin/routes/trafficmanager", map[string]any{
		"group": rgGlobal, "profile": tmProfile, "endpointType": "azureEndpoints", "name": "weu", "target": hostWEU, "enabled": true, "healthGroup": rgPrimary,
	})
	admin(t, url, "/_standin/routes/frontdoor", map[string]any{
		"group": rgGlobal, "profile": afdProfile, "originGroup": afdGroup, "name": "neu", "host": hostNEU, "enabled": false,
	})
	admin(t, url, "/_standin/sites", map[string]any{"group": rgPrimary, "app": "la-weu", "settings": map[string]string{"A": "1"}})
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, strings.TrimSpace(b.String())
	}
	for path, want := range map[string]string{
		"/_standin/routes?id=" + tmEndpointID("weu"):         `{"enabled":true}`,
		"/_standin/routes?id=" + afdOriginID("neu"):          `{"enabled":false}`,
		"/_standin/sites?group=" + rgPrimary + "&app=la-weu": `{"A":"1"}`,
	} {
		if code, body := get(path); code != http.StatusOK || body != want {
			t.Errorf("GET %s: %d %s, want %s", path, code, body, want)
		}
	}
	for _, path := range []string{"/_standin/routes?id=" + afdOriginID("weu"), "/_standin/sites?group=x&app=y"} {
		if code, _ := get(path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	if on, ok := s.RouteEnabled(tmEndpointID("weu")); !on || !ok {
		t.Error("the admin route did not seed the endpoint")
	}
}
