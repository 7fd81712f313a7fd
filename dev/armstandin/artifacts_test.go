package armstandin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/datafactory"
	"integration-dr/azure/logic"
	"integration-dr/drerr"
	"integration-dr/drift"
)

const (
	acctA, acctB = "ia-a", "ia-b"
	groupB       = "b2b-other"
)

func accountID(group, acct string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Logic/integrationAccounts/%s", sub, group, acct)
}

func factoryID(group, factory string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DataFactory/factories/%s", sub, group, factory)
}

func seedAccount(t *testing.T, s *Server, group, acct string) {
	t.Helper()
	for _, p := range []string{"Contoso", "Fabrikam", "Northwind"} {
		must(t, s.PutArtifact(group, acct, drift.Partner, p, armlogic.IntegrationAccountPartnerProperties{
			PartnerType: to.Ptr(armlogic.PartnerTypeB2B),
			Content:     &armlogic.PartnerContent{B2B: &armlogic.B2BPartnerContent{BusinessIdentities: []*armlogic.BusinessIdentity{{Qualifier: to.Ptr("ZZ"), Value: to.Ptr(strings.ToUpper(p))}}}},
		}))
	}
	must(t, s.PutArtifact(group, acct, drift.Schema, "Orders", map[string]any{"schemaType": "Xml", "content": `<xs:schema/>`, "contentType": "application/xml"}))
	must(t, s.PutMap(group, acct, "OrdersToSAP", `<xsl:stylesheet version="1.0"/>`))
	must(t, s.PutArtifact(group, acct, drift.BatchConfiguration, "OrdersBatch", map[string]any{"batchGroupName": "Orders", "releaseCriteria": map[string]any{"messageCount": 10}}))
	must(t, s.PutArtifact(group, acct, drift.Agreement, "Contoso-Fabrikam", map[string]any{
		"agreementType": "AS2", "hostPartner": "Contoso", "guestPartner": "Fabrikam",
		"hostIdentity": map[string]any{"qualifier": "ZZ", "value": "CONTOSO"}, "guestIdentity": map[string]any{"qualifier": "ZZ", "value": "FABRIKAM"},
		"content": map[string]any{"aS2": map[string]any{}},
	}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationAccountArtifactsThroughTheAdapter(t *testing.T) {
	s, base := serve(t, nil)
	s.PageSize = 2 // three partners take two pages
	seedAccount(t, s, group, acctA)
	ctx := context.Background()
	src, err := logic.NewArtifacts(accountID(group, acctA), token("p1"), armOptions(base, true))
	must(t, err)
	dst, err := logic.NewArtifacts(accountID(groupB, acctB), token("p1"), armOptions(base, true))
	must(t, err)

	arts, err := src.Artifacts(ctx)
	must(t, err)
	kinds := map[drift.Kind]int{}
	for _, a := range arts {
		kinds[a.Kind]++
		for k, v := range a.Fields {
			if strings.Contains(v, "sig=") || strings.Contains(v, "_standin") {
				t.Errorf("%s %s field %s holds the content link", a.Kind, a.Name, k)
			}
		}
		if strings.Contains(string(a.Body), "_standin") {
			t.Errorf("%s %s body holds the content link", a.Kind, a.Name)
		}
	}
	if want := map[drift.Kind]int{drift.Partner: 3, drift.Schema: 1, drift.Map: 1, drift.BatchConfiguration: 1, drift.Agreement: 1}; !maps.Equal(kinds, want) {
		t.Fatalf("read %v, want %v", kinds, want)
	}
	st := s.Stats(true)[strings.ToLower(group+"/"+acctA)]
	if st["partners.list"] != 2 || st["maps.content"] != 1 || st["schemas.content"] != 1 || st["maps.listContentCallbackURL"] != 0 {
		t.Errorf("stats %v: want two partner pages, each content read once through the listing's link", st)
	}

	// A mirror, run twice as a resumed one would: every artifact created once.
	for range 2 {
		for _, a := range arts {
			must(t, dst.Put(ctx, a))
		}
	}
	creations := s.Creations(groupB, acctB)
	if len(creations) != len(arts) || slices.ContainsFunc(slices.Collect(maps.Values(creations)), func(n int) bool { return n != 1 }) {
		t.Errorf("creations %v, want each of %d once", creations, len(arts))
	}
	if st := s.Stats(false)[strings.ToLower(groupB+"/"+acctB)]; st["partners.put"] != 6 || st["agreements.put"] != 2 {
		t.Errorf("stats %v", st)
	}
	back, err := dst.Artifacts(ctx)
	must(t, err)
	if d := drift.Compare(arts, back, nil, false).Differences; len(d) != 0 {
		t.Errorf("differences after the mirror: %+v", d)
	}
	if got := s.Artifacts(groupB, acctB, drift.Map)["OrdersToSAP"]; !strings.Contains(string(got), `xsl:stylesheet`) {
		t.Errorf("map stored as %s", got)
	}

	// A content change is a new link; deletes are done twice without harm.
	must(t, s.PutMap(groupB, acctB, "OrdersToSAP", `<xsl:stylesheet version="2.0"/>`))
	back, err = dst.Artifacts(ctx)
	must(t, err)
	if d := drift.Compare(arts, back, nil, false).Differences; len(d) != 1 || d[0].Kind != drift.Map || !slices.Equal(d[0].Fields, []string{"content"}) {
		t.Errorf("differences %+v, want the map's content", d)
	}
	for range 2 {
		must(t, dst.Delete(ctx, drift.Map, "ordersToSAP"))
		must(t, dst.Delete(ctx, drift.Agreement, "Contoso-Fabrikam"))
	}
	if got := s.Artifacts(groupB, acctB, drift.Map); len(got) != 0 {
		t.Errorf("maps left %v", got)
	}
	var deletes []string
	for _, w := range s.Writes(groupB, acctB) {
		if strings.HasSuffix(w.Op, ".delete") {
			deletes = append(deletes, w.Op+" "+w.Name)
		}
	}
	if want := []string{"maps.delete OrdersToSAP", "agreements.delete Contoso-Fabrikam"}; !slices.Equal(deletes, want) {
		t.Errorf("deletes %q, want %q", deletes, want)
	}

	// A region down takes its content links with it.
	s.SetUnreachable(group, "", true)
	if _, err := src.Artifacts(ctx); err == nil {
		t.Error("an unreachable account was read")
	}
}

func TestContentLinks(t *testing.T) {
	s, base := serve(t, nil)
	must(t, s.PutMap(group, acctA, "m", "<xsl/>"))
	f := clients(t, base, "p1", true)
	ctx := context.Background()
	resp, err := f.NewIntegrationAccountMapsClient().Get(ctx, group, acctA, "M", nil)
	must(t, err)
	p := resp.Properties
	if p.Content != nil || p.ContentLink == nil || p.ContentLink.URI == nil || p.CreatedTime == nil || *resp.Name != "m" {
		t.Fatalf("map %+v: want no content, a content link, times, the name as created", p)
	}
	cb, err := f.NewIntegrationAccountMapsClient().ListContentCallbackURL(ctx, group, acctA, "m", armlogic.GetCallbackURLParameters{}, nil)
	must(t, err)
	get := func(link string) (int, string) {
		t.Helper()
		r, err := http.Get(link)
		if err != nil {
			return 0, err.Error()
		}
		defer func() { _ = r.Body.Close() }()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	for _, link := range []string{*p.ContentLink.URI, *cb.Value} {
		if status, body := get(link); status != http.StatusOK || body != "<xsl/>" {
			t.Errorf("content link answered %d %q", status, body)
		}
	}
	u, _ := url.Parse(*p.ContentLink.URI)
	q := u.Query()
	q.Set("sig", "forged")
	u.RawQuery = q.Encode()
	if status, _ := get(u.String()); status != http.StatusForbidden {
		t.Errorf("a forged signature answered %d, want 403", status)
	}
	if _, err := f.NewIntegrationAccountMapsClient().Get(ctx, group, acctA, "missing", nil); err == nil {
		t.Error("a missing map was found")
	}
	s.SetUnreachable(group, acctA, true)
	if status, body := get(*p.ContentLink.URI); status != 0 {
		t.Errorf("an unreachable account's content answered %d %q", status, body)
	}
}

func TestPipelinesAndTriggersThroughTheAdapter(t *testing.T) {
	s, base := serve(t, nil)
	s.PageSize = 1
	ssis := `{"activities":[{"name":"Load","type":"ExecuteSSISPackage","typeProperties":{"packageLocation":{"type":"SSISDB","packagePath":"DW/Load/Load.dtsx"},"connectVia":{"referenceName":"ir-weu","type":"IntegrationRuntimeReference"}}}]}`
	must(t, s.PutPipeline(rgWEU, adfWEU, "RunSSIS", []byte(ssis)))
	must(t, s.PutPipeline(rgWEU, adfWEU, "CopyOnly", []byte(`{"activities":[{"name":"Wait","type":"Wait","typeProperties":{"waitTimeInSeconds":1}}]}`)))
	trig := `{"type":"ScheduleTrigger","annotations":["dr-follows-ssisdb"],"typeProperties":{"recurrence":{"frequency":"Day","interval":1}},"pipelines":[{"pipelineReference":{"referenceName":"RunSSIS","type":"PipelineReference"}}]}`
	must(t, s.PutTriggerDefinition(rgWEU, adfWEU, "nightly", "Started", []byte(trig)))
	ctx := context.Background()
	src, err := datafactory.NewPipelines(factoryID(rgWEU, adfWEU), token("p1"), armOptions(base, true))
	must(t, err)
	dst, err := datafactory.NewPipelines(factoryID(rgNEU, adfNEU), token("p1"), armOptions(base, true))
	must(t, err)

	arts, err := src.Artifacts(ctx)
	must(t, err)
	if len(arts) != 2 || arts[0].Name != "RunSSIS" || arts[1].Name != "nightly" || !arts[1].Running {
		t.Fatalf("read %+v, want RunSSIS and nightly, started", arts)
	}
	for range 2 {
		for _, a := range arts {
			must(t, dst.Put(ctx, a))
		}
	}
	if got, want := s.Creations(rgNEU, ""), map[string]int{"pipelines/RunSSIS": 1, "triggers/nightly": 1}; !maps.Equal(got, want) {
		t.Errorf("creations %v, want %v", got, want)
	}
	if state, _ := s.TriggerState(rgNEU, adfNEU, "nightly"); state != "Stopped" {
		t.Errorf("the standby's trigger is %s, want Stopped", state)
	}
	back, err := dst.Artifacts(ctx)
	must(t, err)
	if d := drift.Compare(arts, back, nil, false).Differences; len(d) != 0 {
		t.Errorf("differences after the mirror: %+v", d)
	}
	if st := s.Stats(false)[strings.ToLower(rgNEU+"/")]; st["pipelines.put"] != 2 || st["triggers.put"] != 2 || st["triggers.get"] != 2 {
		t.Errorf("stats %v", st)
	}

	// A started trigger is changed or deleted only once stopped.
	must(t, s.PutTriggerDefinition(rgNEU, adfNEU, "nightly", "Started", []byte(trig)))
	if err := dst.Put(ctx, arts[1]); !errors.Is(err, datafactory.ErrTriggerStarted) || !drerr.Is(err, drerr.Conflict) {
		t.Errorf("put of a started trigger: %v", err)
	}
	must(t, dst.Stop(ctx, drift.Trigger, "nightly"))
	must(t, dst.Delete(ctx, drift.Trigger, "nightly"))
	must(t, dst.Delete(ctx, drift.Trigger, "nightly"))
	must(t, dst.Delete(ctx, drift.Pipeline, "RunSSIS"))
	if len(s.Pipelines(rgNEU, adfNEU)) != 0 || len(s.TriggerDefinitions(rgNEU, adfNEU)) != 0 {
		t.Errorf("left %v and %v", s.Pipelines(rgNEU, adfNEU), s.TriggerDefinitions(rgNEU, adfNEU))
	}
	s.SetUnreachable(rgWEU, "", true)
	if _, err := src.Artifacts(ctx); err == nil {
		t.Error("an unreachable factory was read")
	}
}
