package armstandin

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
	webfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5/fake"
)

// Logic Apps Standard apps' settings, as armappservice v5.0.0 (api-version
// 2024-11-01) lists and replaces them: POST .../sites/{app}/config/appsettings/list
// and PUT .../sites/{app}/config/appsettings, through the SDK's fake. A Standard
// workflow is enabled or disabled by its app's Workflows.<name>.FlowState setting,
// so this is all the stand-in needs of App Service.
//
// The PUT replaces the whole dictionary, as App Service does: a setting left out is
// gone. A null value is kept as "" (App Service has no null settings). Sites belong
// to their resource group (account ""), like everything in the switch slice; writes
// are recorded as "appsettings.put" named by the app, with the whole dictionary as
// content, and Restarts counts them, since every settings change restarts the app.

// site is an App Service app as the stand-in keeps it.
type site struct {
	name     string
	settings map[string]string
	restarts int
}

var appSettingsPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Web/sites/([^/]+)/config/appsettings(/list)?$`)

// routeAppService routes the app settings requests.
func (s *Server) routeAppService(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	m := appSettingsPath.FindStringSubmatch(r.URL.Path)
	switch {
	case m == nil:
		return "", "", "", nil, false
	case m[3] != "" && r.Method == http.MethodPost:
		api = "WebAppsClient.ListApplicationSettings"
	case m[3] == "" && r.Method == http.MethodPut:
		api = "WebAppsClient.UpdateApplicationSettings"
	default:
		return "", "", "", nil, false
	}
	return api, m[1], "", webfake.NewWebAppsServerTransport(s.webAppsServer(r)), true
}

// PutSite creates or replaces an app with the given settings (copied).
func (s *Server) PutSite(group, app string, settings map[string]string) {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.sites[key(group, app)] = &site{name: app, settings: maps.Clone(settings)}
}

// SiteSettings returns a copy of an app's settings, nil if there is no such app.
func (s *Server) SiteSettings(group, app string) map[string]string {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	st, ok := sw.sites[key(group, app)]
	if !ok {
		return nil
	}
	out := maps.Clone(st.settings)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// Restarts returns how many times an app was restarted by a settings change.
func (s *Server) Restarts(group, app string) int {
	sw := s.switches
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if st, ok := sw.sites[key(group, app)]; ok {
		return st.restarts
	}
	return 0
}

func (s *Server) webAppsServer(r *http.Request) *webfake.WebAppsServer {
	// The dictionary's own ID is the settings resource, without /list.
	id := strings.TrimSuffix(r.URL.Path, "/list")
	view := func(settings map[string]string) armappservice.StringDictionary {
		props := make(map[string]*string, len(settings))
		for k, v := range settings {
			props[k] = to.Ptr(v)
		}
		return armappservice.StringDictionary{ID: to.Ptr(id), Name: to.Ptr("appsettings"), Type: to.Ptr("Microsoft.Web/sites/config"), Properties: props}
	}
	return &webfake.WebAppsServer{
		ListApplicationSettings: func(_ context.Context, group, app string, _ *armappservice.WebAppsClientListApplicationSettingsOptions) (resp azfake.Responder[armappservice.WebAppsClientListApplicationSettingsResponse], errResp azfake.ErrorResponder) {
			withSwitch(s, &errResp, "ResourceNotFound", func(sw *switchState) (*site, bool) {
				st, ok := sw.sites[key(group, app)]
				return st, ok
			}, func(st *site) {
				resp.SetResponse(http.StatusOK, armappservice.WebAppsClientListApplicationSettingsResponse{StringDictionary: view(st.settings)}, nil)
			})
			return
		},
		UpdateApplicationSettings: func(_ context.Context, group, app string, body armappservice.StringDictionary, _ *armappservice.WebAppsClientUpdateApplicationSettingsOptions) (resp azfake.Responder[armappservice.WebAppsClientUpdateApplicationSettingsResponse], errResp azfake.ErrorResponder) {
			withSwitch(s, &errResp, "ResourceNotFound", func(sw *switchState) (*site, bool) {
				st, ok := sw.sites[key(group, app)]
				return st, ok
			}, func(st *site) {
				settings := make(map[string]string, len(body.Properties))
				for k, v := range body.Properties {
					if v != nil {
						settings[k] = *v
					} else {
						settings[k] = ""
					}
				}
				st.settings = settings
				st.restarts++
				raw, _ := json.Marshal(settings)
				s.recordWrite(group, "", "appsettings.put", st.name, raw)
				resp.SetResponse(http.StatusOK, armappservice.WebAppsClientUpdateApplicationSettingsResponse{StringDictionary: view(settings)}, nil)
			})
			return
		},
	}
}
