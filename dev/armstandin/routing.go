package armstandin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cdn/armcdn"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/trafficmanager/armtrafficmanager"
	tmfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/trafficmanager/armtrafficmanager/fake"
)

// Routes that switch partner traffic between the regions, and Logic Apps Standard
// apps' settings (appservice.go): the "switch" slice.
//
//   - Traffic Manager endpoints, as armtrafficmanager v1.3.0 (api-version 2022-04-01)
//     reads and patches them: GET and PATCH .../trafficmanagerprofiles/{profile}/
//     {endpointType}/{name}, through the SDK's fake. An endpoint's monitor status is
//     what ARM would report: "Disabled" when disabled, else "Online", or "Degraded"
//     while the resource group its target lives in (its health group, a region) is
//     cut off by SetUnreachable.
//   - Azure Front Door Standard/Premium origins, as armcdn v1.1.1 (api-version
//     2021-06-01) reads and updates them. armcdn v1.1.1 ships no fake package, so
//     the stand-in serves them itself, marshalling with armcdn's own models. An
//     update is ARM's Azure-AsyncOperation long-running operation: the PATCH answers
//     202 with an Azure-AsyncOperation URL under the origin (so the origin's group's
//     reachability, clock and read bucket apply to polls); each poll answers 200
//     {"status":"InProgress"} with Retry-After: 1 until SetPollsToComplete's count,
//     when the change takes effect and the poll answers {"status":"Succeeded"}; the
//     client then reads the origin. Until then the origin reports provisioningState
//     Updating and its old enabledState. A PATCH while another is pending completes
//     the pending one first, as ARM serialises them. With SetPollsToComplete(0) the
//     PATCH answers 200 and the origin, done.
//
// Everything belongs to its resource group: requests are filed under the account ""
// of their group, as workflows are, so the group's clock, reachability, stats and
// writes apply. Stats name the operations "routes.get", "routes.update" and
// "routes.operationResults" for both routers; writes are recorded as "routes.update"
// named "{profile}/{endpointType}/{name}" (Traffic Manager, content
// {"endpointStatus": ...}) or "{profile}/{originGroup}/{name}" (Front Door, content
// {"enabledState": ...}), at the PATCH, in the order they were served.

// switchState is the switch slice's state. Lock order: switchState.mu before
// Server.mu (writes are recorded, and reachability read, under it).
type switchState struct {
	mu      sync.Mutex
	tm      map[string]*tmEndpoint   // by key(group, profile/type/name), type in lower case
	origins map[string]*afdOrigin    // by key(group, profile/originGroup/name)
	updates map[string]*originUpdate // Front Door updates by operation id
	sites   map[string]*site         // by key(group, app) (appservice.go)
}

func newSwitchState() *switchState {
	return &switchState{tm: map[string]*tmEndpoint{}, origins: map[string]*afdOrigin{}, updates: map[string]*originUpdate{}, sites: map[string]*site{}}
}

// tmEndpoint is a Traffic Manager endpoint as the stand-in keeps it.
type tmEndpoint struct {
	profile string
	typ     armtrafficmanager.EndpointType
	name    string
	target  string
	enabled bool
	// healthGroup is the resource group (region) the target lives in: the endpoint is
	// Degraded while it is cut off.
	healthGroup string
}

// afdOrigin is a Front Door origin as the stand-in keeps it.
type afdOrigin struct {
	profile, originGroup, name, host string
	enabled                          bool
	pending                          *originUpdate // an update in progress
}

// originUpdate is one long-running update of an origin's enabled state.
type originUpdate struct {
	id, resource string // resource: the origin's path in lower case
	origin       *afdOrigin
	enabled      bool
	need, polls  int
	done         bool
}

var (
	tmEndpointPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Network/trafficManagerProfiles/([^/]+)/(azureEndpoints|externalEndpoints|nestedEndpoints)/([^/]+)$`)
	afdOriginPath  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Cdn/profiles/([^/]+)/originGroups/([^/]+)/origins/([^/]+)(?:/operationResults/([^/]+))?$`)
)

// routeSwitch routes the switch slice's requests, as route does the rest.
func (s *Server) routeSwitch(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	get, patch := r.Method == http.MethodGet, r.Method == http.MethodPatch
	if m := tmEndpointPath.FindStringSubmatch(r.URL.Path); m != nil {
		switch {
		case get:
			api = "EndpointsClient.Get"
		case patch:
			api = "EndpointsClient.Update"
		default:
			return "", "", "", nil, false
		}
		return api, m[1], "", tmfake.NewEndpointsServerTransport(s.endpointsServer(r)), true
	}
	if m := afdOriginPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, profile, og, name, opID := m[1], m[2], m[3], m[4], m[5]
		switch {
		case get && opID != "":
			return "AFDOriginsClient.OperationResults", group, "", s.pollOriginUpdate(opID), true
		case get:
			return "AFDOriginsClient.Get", group, "", s.getOrigin(group, profile, og, name), true
		case patch && opID == "":
			return "AFDOriginsClient.BeginUpdate", group, "", s.updateOrigin(group, profile, og, name), true
		}
		return "", "", "", nil, false
	}
	return s.routeAppService(r)
}

// switchOpName names the switch slice's operations in Stats.
func switchOpName(api string) (string, bool) {
	switch api {
	case "EndpointsClient.Get", "AFDOriginsClient.Get":
		return "routes.get", true
	case "EndpointsClient.Update", "AFDOriginsClient.BeginUpdate":
		return "routes.update", true
	case "AFDOriginsClient.OperationResults":
		return "routes.operationResults", true
	case "WebAppsClient.ListApplicationSettings":
		return "appsettings.list", true
	case "WebAppsClient.UpdateApplicationSettings":
		return "appsettings.put", true
	}
	return "", false
}

// endpointTypeOf is the Traffic Manager endpoint type named by t in any case, "" if
// none.
func endpointTypeOf(t string) armtrafficmanager.EndpointType {
	for _, v := range armtrafficmanager.PossibleEndpointTypeValues() {
		if strings.EqualFold(string(v), t) {
			return v
		}
	}
	return ""
}

func tmKey(group, profile string, typ armtrafficmanager.EndpointType, name string) string {
	return key(group, profile+"/"+string(typ)+"/"+name)
}

// PutTrafficManagerEndpoint creates or replaces an endpoint of a Traffic Manager
// profile in resource group group. endpointType is azureEndpoints, externalEndpoints
// or nestedEndpoints (any case); target is the host name it routes to; healthGroup is
// the resource group its target lives in ("" for none): while that group is cut off,
// an enabled endpoint reports Degraded. It panics on an unknown endpoint type, a
// mistake in the test or demo calling it.
func (s *Server) PutTrafficManagerEndpoint(group, profile, endpointType, name, target string, enabled bool, healthGroup string) {
	typ := endpointTypeOf(endpointType)
	if typ == "" {
		panic("armstandin: no Traffic Manager endpoint type " + endpointType)
	}
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.tm[tmKey(group, profile, typ, name)] = &tmEndpoint{profile: profile, typ: typ, name: name, target: target, enabled: enabled, healthGroup: healthGroup}
}

// PutFrontDoorOrigin creates or replaces an origin of a Front Door profile's origin
// group in resource group group, routing to host, with no update in progress.
func (s *Server) PutFrontDoorOrigin(group, profile, originGroup, name, host string, enabled bool) {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.origins[key(group, profile+"/"+originGroup+"/"+name)] = &afdOrigin{profile: profile, originGroup: originGroup, name: name, host: host, enabled: enabled}
}

// RouteEnabled reports whether the route named by its ARM resource ID (a Traffic
// Manager endpoint or a Front Door origin) is enabled now, and whether it exists. A
// Front Door update still in progress has not taken effect.
func (s *Server) RouteEnabled(resourceID string) (enabled, ok bool) {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if m := tmEndpointPath.FindStringSubmatch(resourceID); m != nil {
		e, ok := sw.tm[tmKey(m[1], m[2], endpointTypeOf(m[3]), m[4])]
		return ok && e.enabled, ok
	}
	if m := afdOriginPath.FindStringSubmatch(resourceID); m != nil && m[5] == "" {
		o, ok := sw.origins[key(m[1], m[2]+"/"+m[3]+"/"+m[4])]
		return ok && o.enabled, ok
	}
	return false, false
}

// monitorStatusLocked is the endpoint's monitor status as Traffic Manager reports it.
// Callers hold s.switches.mu.
func (s *Server) monitorStatusLocked(e *tmEndpoint) armtrafficmanager.EndpointMonitorStatus {
	switch {
	case !e.enabled:
		return armtrafficmanager.EndpointMonitorStatusDisabled
	case e.healthGroup != "" && s.GroupUnreachable(e.healthGroup):
		return armtrafficmanager.EndpointMonitorStatusDegraded
	}
	return armtrafficmanager.EndpointMonitorStatusOnline
}

// tmViewLocked is the endpoint as ARM returns it. Callers hold s.switches.mu.
func (s *Server) tmViewLocked(sub, group string, e *tmEndpoint) armtrafficmanager.Endpoint {
	status := armtrafficmanager.EndpointStatusDisabled
	if e.enabled {
		status = armtrafficmanager.EndpointStatusEnabled
	}
	seg := lowerFirst(string(e.typ))
	return armtrafficmanager.Endpoint{
		ID:   to.Ptr("/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/Microsoft.Network/trafficManagerProfiles/" + e.profile + "/" + seg + "/" + e.name),
		Name: to.Ptr(e.name),
		Type: to.Ptr("Microsoft.Network/trafficManagerProfiles/" + seg),
		Properties: &armtrafficmanager.EndpointProperties{
			EndpointStatus:        to.Ptr(status),
			EndpointMonitorStatus: to.Ptr(s.monitorStatusLocked(e)),
			Target:                to.Ptr(e.target),
		},
	}
}

func (s *Server) endpointsServer(r *http.Request) *tmfake.EndpointsServer {
	sub := subscription(r)
	return &tmfake.EndpointsServer{
		Get: func(_ context.Context, group, profile string, typ armtrafficmanager.EndpointType, name string, _ *armtrafficmanager.EndpointsClientGetOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientGetResponse], errResp azfake.ErrorResponder) {
			withSwitch(s, &errResp, "NotFound", func(sw *switchState) (*tmEndpoint, bool) {
				e, ok := sw.tm[tmKey(group, profile, endpointTypeOf(string(typ)), name)]
				return e, ok
			}, func(e *tmEndpoint) {
				resp.SetResponse(http.StatusOK, armtrafficmanager.EndpointsClientGetResponse{Endpoint: s.tmViewLocked(sub, group, e)}, nil)
			})
			return
		},
		Update: func(_ context.Context, group, profile string, typ armtrafficmanager.EndpointType, name string, body armtrafficmanager.Endpoint, _ *armtrafficmanager.EndpointsClientUpdateOptions) (resp azfake.Responder[armtrafficmanager.EndpointsClientUpdateResponse], errResp azfake.ErrorResponder) {
			withSwitch(s, &errResp, "NotFound", func(sw *switchState) (*tmEndpoint, bool) {
				e, ok := sw.tm[tmKey(group, profile, endpointTypeOf(string(typ)), name)]
				return e, ok
			}, func(e *tmEndpoint) {
				// A PATCH changes what it names and nothing else.
				content := map[string]string{}
				if p := body.Properties; p != nil {
					if p.EndpointStatus != nil {
						switch {
						case strings.EqualFold(string(*p.EndpointStatus), string(armtrafficmanager.EndpointStatusEnabled)):
							e.enabled = true
						case strings.EqualFold(string(*p.EndpointStatus), string(armtrafficmanager.EndpointStatusDisabled)):
							e.enabled = false
						default:
							errResp.SetResponseError(http.StatusBadRequest, "BadRequest")
							return
						}
						content["endpointStatus"] = string(*p.EndpointStatus)
					}
					if p.Target != nil {
						e.target = *p.Target
						content["target"] = e.target
					}
				}
				raw, _ := json.Marshal(content)
				s.recordWrite(group, "", "routes.update", e.profile+"/"+lowerFirst(string(e.typ))+"/"+e.name, raw)
				resp.SetResponse(http.StatusOK, armtrafficmanager.EndpointsClientUpdateResponse{Endpoint: s.tmViewLocked(sub, group, e)}, nil)
			})
			return
		},
	}
}

// originView is the origin as ARM returns it. Callers hold s.switches.mu.
func originView(path string, o *afdOrigin) armcdn.AFDOrigin {
	enabled, provisioning, deployment := armcdn.EnabledStateDisabled, armcdn.AfdProvisioningStateSucceeded, armcdn.DeploymentStatusSucceeded
	if o.enabled {
		enabled = armcdn.EnabledStateEnabled
	}
	if o.pending != nil {
		provisioning, deployment = armcdn.AfdProvisioningStateUpdating, armcdn.DeploymentStatusInProgress
	}
	return armcdn.AFDOrigin{
		ID:   to.Ptr(path),
		Name: to.Ptr(o.name),
		Type: to.Ptr("Microsoft.Cdn/profiles/originGroups/origins"),
		Properties: &armcdn.AFDOriginProperties{
			EnabledState:      to.Ptr(enabled),
			HostName:          to.Ptr(o.host),
			OriginHostHeader:  to.Ptr(o.host),
			OriginGroupName:   to.Ptr(o.originGroup),
			ProvisioningState: to.Ptr(provisioning),
			DeploymentStatus:  to.Ptr(deployment),
		},
	}
}

func (s *Server) getOrigin(group, profile, originGroup, name string) handler {
	return func(r *http.Request) (*http.Response, error) {
		sw := s.switches
		sw.mu.Lock()
		defer sw.mu.Unlock()
		o, ok := sw.origins[key(group, profile+"/"+originGroup+"/"+name)]
		if !ok {
			return answerError(http.StatusNotFound, "NotFound", "no origin "+profile+"/"+originGroup+"/"+name+" in "+group)
		}
		return answer(http.StatusOK, nil, originView(r.URL.Path, o))
	}
}

// updateOrigin serves PATCH on an origin: the enabled state changes when the
// long-running operation completes. Other properties are not modelled and are
// ignored.
func (s *Server) updateOrigin(group, profile, originGroup, name string) handler {
	return func(r *http.Request) (*http.Response, error) {
		var body armcdn.AFDOriginUpdateParameters
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil || json.Unmarshal(raw, &body) != nil {
			return answerError(http.StatusBadRequest, "BadRequest", "the body is not an origin update")
		}
		var enabled *bool
		if p := body.Properties; p != nil && p.EnabledState != nil {
			switch {
			case strings.EqualFold(string(*p.EnabledState), string(armcdn.EnabledStateEnabled)):
				enabled = to.Ptr(true)
			case strings.EqualFold(string(*p.EnabledState), string(armcdn.EnabledStateDisabled)):
				enabled = to.Ptr(false)
			default:
				return answerError(http.StatusBadRequest, "BadRequest", "enabledState must be Enabled or Disabled")
			}
		}
		s.ssis.mu.Lock()
		need := s.ssis.pollsToComplete
		s.ssis.mu.Unlock()
		sw := s.switches
		sw.mu.Lock()
		defer sw.mu.Unlock()
		o, ok := sw.origins[key(group, profile+"/"+originGroup+"/"+name)]
		if !ok {
			return answerError(http.StatusNotFound, "NotFound", "no origin "+profile+"/"+originGroup+"/"+name+" in "+group)
		}
		if o.pending != nil {
			o.pending.completeLocked()
		}
		content := map[string]string{}
		want := o.enabled
		if enabled != nil {
			want = *enabled
			content["enabledState"] = string(*body.Properties.EnabledState)
		}
		c, _ := json.Marshal(content)
		s.recordWrite(group, "", "routes.update", profile+"/"+originGroup+"/"+name, c)
		u := &originUpdate{id: rand.Text(), resource: strings.ToLower(r.URL.Path), origin: o, enabled: want, need: need}
		if need == 0 {
			u.completeLocked()
			return answer(http.StatusOK, nil, originView(r.URL.Path, o))
		}
		o.pending = u
		sw.updates[u.id] = u
		loc := url.URL{Scheme: scheme(r), Host: r.Host, Path: r.URL.Path + "/operationResults/" + u.id}
		loc.RawQuery = url.Values{"api-version": {r.URL.Query().Get("api-version")}}.Encode()
		h := http.Header{}
		h.Set("Azure-AsyncOperation", loc.String())
		h.Set("Retry-After", strconv.Itoa(1))
		return answer(http.StatusAccepted, h, nil)
	}
}

// completeLocked makes the update take effect. Callers hold s.switches.mu.
func (u *originUpdate) completeLocked() {
	if u.done {
		return
	}
	u.done = true
	u.origin.enabled = u.enabled
	if u.origin.pending == u {
		u.origin.pending = nil
	}
}

// pollOriginUpdate serves GET {origin}/operationResults/{id}: ARM's operation status
// body. Only polls that reach it count.
func (s *Server) pollOriginUpdate(id string) handler {
	return func(r *http.Request) (*http.Response, error) {
		sw := s.switches
		sw.mu.Lock()
		defer sw.mu.Unlock()
		u, ok := sw.updates[id]
		if !ok || u.resource != strings.ToLower(path.Dir(path.Dir(r.URL.Path))) {
			return answerError(http.StatusNotFound, "OperationNotFound", "no operation "+id+" on this origin")
		}
		if !u.done {
			u.polls++
			if u.polls >= u.need {
				u.completeLocked()
			}
		}
		if !u.done {
			h := http.Header{}
			h.Set("Retry-After", strconv.Itoa(1))
			return answer(http.StatusOK, h, map[string]string{"id": id, "name": id, "status": "InProgress"})
		}
		return answer(http.StatusOK, nil, map[string]string{"id": id, "name": id, "status": "Succeeded"})
	}
}

// adminSwitch serves the switch slice's admin routes; it reports whether the path was
// one of them.
//
//	PUT /_standin/routes/trafficmanager  body: {"group", "profile", "endpointType", "name", "target", "enabled", "healthGroup"}
//	PUT /_standin/routes/frontdoor       body: {"group", "profile", "originGroup", "name", "host", "enabled"}
//	GET /_standin/routes?id={resource ID}       {"enabled": bool}; 404 if no such route
//	PUT /_standin/sites                  body: {"group", "app", "settings": {...}}
//	GET /_standin/sites?group={g}&app={a}       the app's settings; 404 if no such app
func (s *Server) adminSwitch(w http.ResponseWriter, r *http.Request) bool {
	put, get := r.Method == http.MethodPut, r.Method == http.MethodGet
	switch {
	case r.URL.Path == "/_standin/routes/trafficmanager" && put:
		if b, ok := decode[struct {
			Group, Profile, EndpointType, Name, Target, HealthGroup string
			Enabled                                                 bool
		}](w, r); ok {
			if endpointTypeOf(b.EndpointType) == "" {
				http.Error(w, "bad endpointType "+b.EndpointType, http.StatusBadRequest)
				return true
			}
			s.PutTrafficManagerEndpoint(b.Group, b.Profile, b.EndpointType, b.Name, b.Target, b.Enabled, b.HealthGroup)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/routes/frontdoor" && put:
		if b, ok := decode[struct {
			Group, Profile, OriginGroup, Name, Host string
			Enabled                                 bool
		}](w, r); ok {
			s.PutFrontDoorOrigin(b.Group, b.Profile, b.OriginGroup, b.Name, b.Host, b.Enabled)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/routes" && get:
		enabled, ok := s.RouteEnabled(r.URL.Query().Get("id"))
		if !ok {
			http.NotFound(w, r)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]bool{"enabled": enabled})
	case r.URL.Path == "/_standin/sites" && put:
		if b, ok := decode[struct {
			Group, App string
			Settings   map[string]string
		}](w, r); ok {
			s.PutSite(b.Group, b.App, b.Settings)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.URL.Path == "/_standin/sites" && get:
		settings := s.SiteSettings(r.URL.Query().Get("group"), r.URL.Query().Get("app"))
		if settings == nil {
			http.NotFound(w, r)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(settings)
	default:
		return false
	}
	return true
}

// withSwitch runs fn with what find finds among the switches, both under their lock;
// when find finds nothing, errResp answers 404 with code, as ARM answers for a
// resource that is not there.
func withSwitch[V any](s *Server, errResp *azfake.ErrorResponder, code string, find func(*switchState) (V, bool), fn func(V)) {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	v, ok := find(sw)
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, code)
		return
	}
	fn(v)
}
