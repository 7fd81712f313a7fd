package armstandin

import (
	"context"
	"maps"
	"testing"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
)

func standardWorkflow(t *testing.T, url string, tk token, group, app, name string) *logic.StandardWorkflow {
	t.Helper()
	w, err := logic.NewStandardWorkflow("/subscriptions/"+sub+"/resourceGroups/"+group+"/providers/Microsoft.Web/sites/"+app+"/workflows/"+name, tk, armOptions(url, true))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestStandardWorkflowSwitchedThroughTheAdapter(t *testing.T) {
	s, url := serve(t, nil)
	const key = "Workflows.as2-intake.FlowState"
	customer := map[string]string{
		"FUNCTIONS_EXTENSION_VERSION":      "~4",
		"AzureWebJobsStorage":              "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=a+b/c==",
		"Partner.Json":                     `{"as2":"ÄÖ","pad":"  "}`,
		"EMPTY":                            "",
		"Workflows.other-intake.FlowState": "Disabled",
	}
	s.PutSite(rgPrimary, "la-weu", customer)
	ctx := context.Background()
	w := standardWorkflow(t, url, "local-stand-in", rgPrimary, "la-weu", "as2-intake")

	if st, err := w.State(ctx); err != nil || st != logic.WorkflowEnabled {
		t.Fatalf("a workflow with no setting: %q, %v; want Enabled", st, err)
	}
	if err := w.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Restarts(rgPrimary, "la-weu") != 0 {
		t.Fatal("enabling an enabled workflow restarted the app")
	}
	for range 2 {
		if err := w.Disable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := maps.Clone(customer)
	want[key] = "Disabled"
	if got := s.SiteSettings(rgPrimary, "la-weu"); !maps.Equal(got, want) {
		t.Errorf("settings after disable = %q, want %q", got, want)
	}
	if err := w.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	want[key] = "Enabled"
	if got := s.SiteSettings(rgPrimary, "la-weu"); !maps.Equal(got, want) {
		t.Errorf("settings after enable = %q, want %q", got, want)
	}
	if n := s.Restarts(rgPrimary, "la-weu"); n != 2 {
		t.Errorf("%d restarts, want one per change", n)
	}
	st := s.Stats(false)[rgPrimary+"/"]
	if st["appsettings.put"] != 2 || st["appsettings.list"] != 5 {
		t.Errorf("Stats = %v", st)
	}
	ws := s.Writes(rgPrimary, "")
	if len(ws) != 2 || ws[0].Op != "appsettings.put" || ws[0].Name != "la-weu" {
		t.Errorf("Writes = %q", writeStrings(ws))
	}
}

func TestStandardWorkflowFailures(t *testing.T) {
	s, url := serve(t, nil)
	s.PutSite(rgPrimary, "la-weu", map[string]string{"A": "1"})
	ctx := context.Background()
	t.Run("a missing app is not found", func(t *testing.T) {
		if err := standardWorkflow(t, url, "local-stand-in", rgPrimary, "la-nowhere", "wf").Disable(ctx); !drerr.Is(err, drerr.NotFound) {
			t.Errorf("disable: %v (code %s), want not found", err, drerr.CodeOf(err))
		}
	})
	t.Run("a cut-off region is unreachable and nothing changes", func(t *testing.T) {
		s.SetUnreachable(rgPrimary, "", true)
		defer s.SetUnreachable(rgPrimary, "", false)
		if err := standardWorkflow(t, url, "local-stand-in", rgPrimary, "la-weu", "wf").Disable(ctx); !drerr.Is(err, drerr.Unreachable) {
			t.Errorf("disable: %v (code %s), want unreachable", err, drerr.CodeOf(err))
		}
		if got := s.SiteSettings(rgPrimary, "la-weu"); len(got) != 1 {
			t.Errorf("settings %v", got)
		}
	})
	t.Run("the list is a POST and draws on the write bucket", func(t *testing.T) {
		s.SetLimits(Limits{WriteBucket: 1, WriteRefillPerSecond: 0.01})
		defer s.SetLimits(Limits{Off: true})
		w := standardWorkflow(t, url, "local-stand-in", rgPrimary, "la-weu", "wf")
		if _, err := w.State(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Disable(ctx); !drerr.Is(err, drerr.Throttled) {
			t.Errorf("disable with an empty write bucket: %v (code %s), want throttled", err, drerr.CodeOf(err))
		}
	})
}
