package logic_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
	webfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5/fake"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
)

const standardID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.Web/sites/contoso-la-weu/workflows/as2-intake"

// site is a fake App Service app's settings. A PUT replaces them all, as App Service
// does.
type site struct {
	exists   bool
	settings map[string]*string
	lists    int
	puts     []map[string]*string
}

func (s *site) server() *webfake.WebAppsServer {
	return &webfake.WebAppsServer{
		ListApplicationSettings: func(_ context.Context, group, app string, _ *armappservice.WebAppsClientListApplicationSettingsOptions) (resp azfake.Responder[armappservice.WebAppsClientListApplicationSettingsResponse], errResp azfake.ErrorResponder) {
			s.lists++
			if !s.exists || group != "b2b-westeurope" || app != "contoso-la-weu" {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armappservice.WebAppsClientListApplicationSettingsResponse{StringDictionary: armappservice.StringDictionary{
				Name: to.Ptr("appsettings"), Properties: maps.Clone(s.settings),
			}}, nil)
			return
		},
		UpdateApplicationSettings: func(_ context.Context, group, app string, body armappservice.StringDictionary, _ *armappservice.WebAppsClientUpdateApplicationSettingsOptions) (resp azfake.Responder[armappservice.WebAppsClientUpdateApplicationSettingsResponse], errResp azfake.ErrorResponder) {
			s.puts = append(s.puts, maps.Clone(body.Properties))
			if !s.exists {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			s.settings = maps.Clone(body.Properties)
			resp.SetResponse(http.StatusOK, armappservice.WebAppsClientUpdateApplicationSettingsResponse{StringDictionary: body}, nil)
			return
		},
	}
}

func newStandard(t *testing.T, srv *webfake.WebAppsServer) *logic.StandardWorkflow {
	t.Helper()
	return onFake(t, webfake.NewWebAppsServerTransport(srv), func(c azcore.TokenCredential, o *arm.ClientOptions) (*logic.StandardWorkflow, error) {
		return logic.NewStandardWorkflow(standardID, c, o)
	})
}

// customerSettings are an app's other settings: they must come back exactly as they
// were, whatever they hold.
func customerSettings() map[string]*string {
	return map[string]*string{
		"FUNCTIONS_EXTENSION_VERSION":      to.Ptr("~4"),
		"APP_KIND":                         to.Ptr("workflowApp"),
		"AzureWebJobsStorage":              to.Ptr("DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=a+b/c==;EndpointSuffix=core.windows.net"),
		"Partner.Json":                     to.Ptr(`{"as2":"ID ÄÖ","spaces":"  trailing  "}`),
		"EMPTY":                            to.Ptr(""),
		"Workflows.other-intake.FlowState": to.Ptr("Disabled"),
		"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING": to.Ptr("x;y=z"),
	}
}

func assertSettingsKept(t *testing.T, before, after map[string]*string, except string) {
	t.Helper()
	for k, v := range before {
		if k == except {
			continue
		}
		got, ok := after[k]
		if !ok || (v == nil) != (got == nil) || (v != nil && *v != *got) {
			t.Errorf("setting %s: %v → %v (present %v)", k, deref(v), deref(got), ok)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok && k != except {
			t.Errorf("setting %s added", k)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestStandardWorkflow(t *testing.T) {
	const key = "Workflows.as2-intake.FlowState"
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		initial *string // the workflow's setting; nil: absent
		op      func(*logic.StandardWorkflow, context.Context) error
		want    string
		puts    int
	}{
		{"an absent setting counts as enabled, and enabling writes nothing", nil, (*logic.StandardWorkflow).Enable, logic.WorkflowEnabled, 0},
		{"an enabled workflow is not enabled again", to.Ptr("Enabled"), (*logic.StandardWorkflow).Enable, logic.WorkflowEnabled, 0},
		{"a disabled workflow is not disabled again", to.Ptr("Disabled"), (*logic.StandardWorkflow).Disable, logic.WorkflowDisabled, 0},
		{"a disabled workflow written in another case is not disabled again", to.Ptr("disabled"), (*logic.StandardWorkflow).Disable, logic.WorkflowDisabled, 0},
		{"disabling a workflow with no setting adds it and keeps every other", nil, (*logic.StandardWorkflow).Disable, logic.WorkflowDisabled, 1},
		{"disabling keeps every other setting", to.Ptr("Enabled"), (*logic.StandardWorkflow).Disable, logic.WorkflowDisabled, 1},
		{"enabling keeps every other setting", to.Ptr("Disabled"), (*logic.StandardWorkflow).Enable, logic.WorkflowEnabled, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := customerSettings()
			before["NULL_VALUE"] = nil
			if tc.initial != nil {
				before[key] = tc.initial
			}
			s := &site{exists: true, settings: maps.Clone(before)}
			w := newStandard(t, s.server())
			if err := tc.op(w, ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := w.State(ctx); err != nil || got != tc.want {
				t.Fatalf("state %q, %v; want %q", got, err, tc.want)
			}
			if len(s.puts) != tc.puts {
				t.Fatalf("%d settings writes, want %d", len(s.puts), tc.puts)
			}
			assertSettingsKept(t, before, s.settings, key)
			if tc.puts > 0 && deref(s.settings[key]) != tc.want {
				t.Errorf("%s = %s, want %s", key, deref(s.settings[key]), tc.want)
			}
		})
	}
}

func TestStandardWorkflowWritesUnderTheKeyItHas(t *testing.T) {
	s := &site{exists: true, settings: map[string]*string{"workflows.AS2-INTAKE.flowstate": to.Ptr("Enabled"), "A": to.Ptr("1")}}
	if err := newStandard(t, s.server()).Disable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.settings) != 2 || deref(s.settings["workflows.AS2-INTAKE.flowstate"]) != "Disabled" || deref(s.settings["A"]) != "1" {
		t.Errorf("settings after disable: %v", s.settings)
	}
}

func TestStandardWorkflowErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("a missing app is not found and nothing is written", func(t *testing.T) {
		s := &site{}
		w := newStandard(t, s.server())
		if _, err := w.State(ctx); !drerr.Is(err, drerr.NotFound) {
			t.Errorf("State: %v (code %s), want not found", err, drerr.CodeOf(err))
		}
		for name, f := range map[string]func(context.Context) error{"Enable": w.Enable, "Disable": w.Disable} {
			if err := f(ctx); !drerr.Is(err, drerr.NotFound) {
				t.Errorf("%s: %v (code %s), want not found", name, err, drerr.CodeOf(err))
			}
		}
		if len(s.puts) != 0 {
			t.Errorf("%d writes to a missing app", len(s.puts))
		}
	})
	t.Run("a failed write is reported with its code", func(t *testing.T) {
		s := &site{exists: true, settings: customerSettings()}
		srv := s.server()
		srv.UpdateApplicationSettings = func(context.Context, string, string, armappservice.StringDictionary, *armappservice.WebAppsClientUpdateApplicationSettingsOptions) (resp azfake.Responder[armappservice.WebAppsClientUpdateApplicationSettingsResponse], errResp azfake.ErrorResponder) {
			errResp.SetResponseError(http.StatusTooManyRequests, "TooManyRequests")
			return
		}
		if err := newStandard(t, srv).Disable(ctx); !drerr.Is(err, drerr.Throttled) {
			t.Errorf("disable: %v (code %s), want throttled", err, drerr.CodeOf(err))
		}
	})
}

func TestParseStandardWorkflowID(t *testing.T) {
	id, err := logic.ParseStandardWorkflowID(standardID)
	if err != nil || id.Name != "as2-intake" || id.Parent.Name != "contoso-la-weu" || id.ResourceGroupName != "b2b-westeurope" {
		t.Fatalf("ParseStandardWorkflowID: %+v, %v", id, err)
	}
	if w, err := logic.NewStandardWorkflow(standardID, &azfake.TokenCredential{}, nil); err != nil || w.Name() != "contoso-la-weu/as2-intake" {
		t.Errorf("NewStandardWorkflow: %v, %v", w, err)
	}
	for _, bad := range []string{
		"", "not-an-id",
		workflowID, // a Consumption workflow
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app",                      // the app
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/workflows",            // the collection
		"/subscriptions/s/providers/Microsoft.Web/sites/app/workflows/wf",                          // no resource group
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/slots/s/workflows/wf", // a slot
	} {
		if _, err := logic.ParseStandardWorkflowID(bad); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("ParseStandardWorkflowID(%q): %v, want invalid", bad, err)
		}
		if _, err := logic.NewStandardWorkflow(bad, &azfake.TokenCredential{}, nil); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("NewStandardWorkflow(%q): %v, want invalid", bad, err)
		}
	}
}
