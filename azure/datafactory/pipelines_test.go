package datafactory_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9/fake"

	"integration-dr/azure/datafactory"
	"integration-dr/drerr"
	"integration-dr/drift"
)

// factory is a fake Data Factory holding pipelines and triggers by lower-case name.
// Like the service, it creates triggers stopped and refuses to change or delete a
// started one.
type factory struct {
	pipelines map[string]armdatafactory.PipelineResource
	triggers  map[string]armdatafactory.TriggerResource
	writes    []string
}

func newFakeFactory() *factory {
	return &factory{pipelines: map[string]armdatafactory.PipelineResource{}, triggers: map[string]armdatafactory.TriggerResource{}}
}

func (f *factory) putPipeline(t *testing.T, name, props string) {
	t.Helper()
	var r armdatafactory.PipelineResource
	if err := json.Unmarshal([]byte(`{"name":"`+name+`","properties":`+props+`}`), &r); err != nil {
		t.Fatal(err)
	}
	f.pipelines[strings.ToLower(name)] = r
}

func (f *factory) putTrigger(t *testing.T, name, props string) {
	t.Helper()
	var r armdatafactory.TriggerResource
	if err := json.Unmarshal([]byte(`{"name":"`+name+`","properties":`+props+`}`), &r); err != nil {
		t.Fatal(err)
	}
	f.triggers[strings.ToLower(name)] = r
}

func state(r armdatafactory.TriggerResource) armdatafactory.TriggerRuntimeState {
	if t := r.Properties.GetTrigger(); t.RuntimeState != nil {
		return *t.RuntimeState
	}
	return ""
}

// setState sets a trigger's runtime state through its JSON, whatever its type.
func setState(r *armdatafactory.TriggerResource, s armdatafactory.TriggerRuntimeState) {
	raw, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["properties"].(map[string]any)["runtimeState"] = string(s)
	raw, _ = json.Marshal(m)
	_ = json.Unmarshal(raw, r)
}

// pageOf pages items two to a page; none is one empty page, as ARM answers.
func pageOf[T any](items map[string]T) [][]*T {
	keys := slices.Sorted(maps.Keys(items))
	out := [][]*T{}
	if len(keys) == 0 {
		out = append(out, nil)
	}
	for i := 0; i < len(keys); i += 2 {
		var page []*T
		for _, k := range keys[i:min(i+2, len(keys))] {
			v := items[k]
			page = append(page, &v)
		}
		out = append(out, page)
	}
	return out
}

func (f *factory) transport() policy.Transporter {
	return fake.NewServerFactoryTransport(&fake.ServerFactory{
		PipelinesServer: fake.PipelinesServer{
			NewListByFactoryPager: func(_, _ string, _ *armdatafactory.PipelinesClientListByFactoryOptions) (resp azfake.PagerResponder[armdatafactory.PipelinesClientListByFactoryResponse]) {
				for _, p := range pageOf(f.pipelines) {
					resp.AddPage(http.StatusOK, armdatafactory.PipelinesClientListByFactoryResponse{PipelineListResponse: armdatafactory.PipelineListResponse{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, r armdatafactory.PipelineResource, _ *armdatafactory.PipelinesClientCreateOrUpdateOptions) (resp azfake.Responder[armdatafactory.PipelinesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				r.Name = to.Ptr(name)
				f.pipelines[strings.ToLower(name)] = r
				f.writes = append(f.writes, "put pipeline "+name)
				resp.SetResponse(http.StatusOK, armdatafactory.PipelinesClientCreateOrUpdateResponse{PipelineResource: r}, nil)
				return
			},
			Delete: func(_ context.Context, _, _, name string, _ *armdatafactory.PipelinesClientDeleteOptions) (resp azfake.Responder[armdatafactory.PipelinesClientDeleteResponse], errResp azfake.ErrorResponder) {
				if _, ok := f.pipelines[strings.ToLower(name)]; !ok {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				delete(f.pipelines, strings.ToLower(name))
				f.writes = append(f.writes, "delete pipeline "+name)
				resp.SetResponse(http.StatusOK, armdatafactory.PipelinesClientDeleteResponse{}, nil)
				return
			},
		},
		TriggersServer: fake.TriggersServer{
			NewListByFactoryPager: func(_, _ string, _ *armdatafactory.TriggersClientListByFactoryOptions) (resp azfake.PagerResponder[armdatafactory.TriggersClientListByFactoryResponse]) {
				for _, p := range pageOf(f.triggers) {
					resp.AddPage(http.StatusOK, armdatafactory.TriggersClientListByFactoryResponse{TriggerListResponse: armdatafactory.TriggerListResponse{Value: p}}, nil)
				}
				return
			},
			Get: func(_ context.Context, _, _, name string, _ *armdatafactory.TriggersClientGetOptions) (resp azfake.Responder[armdatafactory.TriggersClientGetResponse], errResp azfake.ErrorResponder) {
				r, ok := f.triggers[strings.ToLower(name)]
				if !ok {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientGetResponse{TriggerResource: r}, nil)
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, r armdatafactory.TriggerResource, _ *armdatafactory.TriggersClientCreateOrUpdateOptions) (resp azfake.Responder[armdatafactory.TriggersClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				cur, ok := f.triggers[strings.ToLower(name)]
				if ok && state(cur) == armdatafactory.TriggerRuntimeStateStarted {
					errResp.SetResponseError(http.StatusBadRequest, "TriggerEnabledCannotUpdate")
					return
				}
				r.Name = to.Ptr(name)
				setState(&r, armdatafactory.TriggerRuntimeStateStopped)
				f.triggers[strings.ToLower(name)] = r
				f.writes = append(f.writes, "put trigger "+name)
				resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientCreateOrUpdateResponse{TriggerResource: r}, nil)
				return
			},
			Delete: func(_ context.Context, _, _, name string, _ *armdatafactory.TriggersClientDeleteOptions) (resp azfake.Responder[armdatafactory.TriggersClientDeleteResponse], errResp azfake.ErrorResponder) {
				if _, ok := f.triggers[strings.ToLower(name)]; !ok {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				delete(f.triggers, strings.ToLower(name))
				f.writes = append(f.writes, "delete trigger "+name)
				resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientDeleteResponse{}, nil)
				return
			},
			BeginStop: func(_ context.Context, _, _, name string, _ *armdatafactory.TriggersClientBeginStopOptions) (resp azfake.PollerResponder[armdatafactory.TriggersClientStopResponse], errResp azfake.ErrorResponder) {
				r, ok := f.triggers[strings.ToLower(name)]
				if !ok {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				setState(&r, armdatafactory.TriggerRuntimeStateStopped)
				f.triggers[strings.ToLower(name)] = r
				f.writes = append(f.writes, "stop trigger "+name)
				resp.AddNonTerminalResponse(http.StatusOK, nil)
				resp.SetTerminalResponse(http.StatusOK, armdatafactory.TriggersClientStopResponse{}, nil)
				return
			},
		},
	})
}

func newPipelines(t *testing.T, f *factory) *datafactory.Pipelines {
	t.Helper()
	p, err := datafactory.NewPipelines(factoryID, &azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: f.transport(), Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	datafactory.SetPipelinesTriggerWait(p, time.Millisecond)
	return p
}

const ssisActivity = `{"name":"Load DW","type":"ExecuteSSISPackage","typeProperties":{
	"packageLocation":{"type":"SSISDB","packagePath":"DW/Load/LoadDW.dtsx"},
	"connectVia":{"referenceName":"ssis-ir-weu","type":"IntegrationRuntimeReference"},
	"executionCredential":{"domain":"CONTOSO","userName":"etl","password":{"type":"SecureString","value":"P@ssw0rd-not-for-fields"}},
	"projectParameters":{"Region":{"value":"@pipeline().parameters.region"}}}}`

// seedFactory holds the pipelines a factory may have: SSIS ones at the top, nested
// in containers, and behind Execute Pipeline; one that runs no package; and their
// triggers.
func seedFactory(t *testing.T, f *factory, started bool) {
	t.Helper()
	f.putPipeline(t, "RunSSIS", `{"parameters":{"region":{"type":"String","defaultValue":"weu"}},"activities":[`+ssisActivity+`]}`)
	f.putPipeline(t, "NestedSSIS", `{"activities":[{"name":"Each file","type":"ForEach","typeProperties":{"items":{"type":"Expression","value":"@pipeline().parameters.files"},
		"activities":[{"name":"Which","type":"IfCondition","typeProperties":{"expression":{"type":"Expression","value":"@true"},"ifTrueActivities":[`+ssisActivity+`]}}]}}]}`)
	f.putPipeline(t, "Orchestrate", `{"activities":[{"name":"Call","type":"ExecutePipeline","typeProperties":{"pipeline":{"referenceName":"RunSSIS","type":"PipelineReference"}}}]}`)
	f.putPipeline(t, "CopyOnly", `{"activities":[{"name":"Wait","type":"Wait","typeProperties":{"waitTimeInSeconds":1}}]}`)
	run := "Stopped"
	if started {
		run = "Started"
	}
	f.putTrigger(t, "nightly", `{"type":"ScheduleTrigger","runtimeState":"`+run+`","annotations":["dr-follows-ssisdb"],
		"typeProperties":{"recurrence":{"frequency":"Day","interval":1,"startTime":"2026-01-01T02:00:00Z","timeZone":"UTC"}},
		"pipelines":[{"pipelineReference":{"referenceName":"Orchestrate","type":"PipelineReference"}}]}`)
	f.putTrigger(t, "hourly-copy", `{"type":"ScheduleTrigger","runtimeState":"Started","typeProperties":{"recurrence":{"frequency":"Hour","interval":1}},
		"pipelines":[{"pipelineReference":{"referenceName":"CopyOnly","type":"PipelineReference"}}]}`)
}

func byKey(t *testing.T, arts []drift.Artifact) map[string]drift.Artifact {
	t.Helper()
	m := map[string]drift.Artifact{}
	for _, a := range arts {
		m[string(a.Kind)+"/"+a.Name] = a
	}
	if len(m) != len(arts) {
		t.Fatalf("an artifact listed twice: %d of %d", len(m), len(arts))
	}
	return m
}

func TestPipelinesThatRunSSISAndTheirTriggersAreRead(t *testing.T) {
	f := newFakeFactory()
	seedFactory(t, f, true)
	arts, err := newPipelines(t, f).Artifacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(t, arts)
	if want := []string{"pipeline/NestedSSIS", "pipeline/Orchestrate", "pipeline/RunSSIS", "trigger/nightly"}; !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
		t.Fatalf("read %v, want %v (a pipeline that runs no package, and its trigger, are not SSIS's)", slices.Sorted(maps.Keys(got)), want)
	}
	tests := []struct {
		name    string
		key     string
		fields  map[string]string
		running bool
	}{
		{name: "an SSIS activity by package path, runtime and parameters", key: "pipeline/RunSSIS", fields: map[string]string{
			"activities[Load DW].type":                                              "ExecuteSSISPackage",
			"activities[Load DW].typeProperties.packageLocation.packagePath":        "DW/Load/LoadDW.dtsx",
			"activities[Load DW].typeProperties.connectVia.referenceName":           "ssis-ir-weu",
			"activities[Load DW].typeProperties.projectParameters.Region.value":     "@pipeline().parameters.region",
			"activities[Load DW].typeProperties.executionCredential.password.value": "(secure)",
			"parameters.region.defaultValue":                                        "weu",
		}},
		{name: "an SSIS activity inside containers", key: "pipeline/NestedSSIS", fields: map[string]string{
			"activities[Each file].typeProperties.activities[Which].typeProperties.ifTrueActivities[Load DW].typeProperties.packageLocation.packagePath": "DW/Load/LoadDW.dtsx",
		}},
		{name: "a pipeline executing an SSIS pipeline", key: "pipeline/Orchestrate", fields: map[string]string{
			"activities[Call].typeProperties.pipeline.referenceName": "RunSSIS",
		}},
		{name: "a trigger by type, schedule and pipelines; started is Running, not a field", key: "trigger/nightly", running: true, fields: map[string]string{
			"type": "ScheduleTrigger", "typeProperties.recurrence.frequency": "Day", "typeProperties.recurrence.interval": "1",
			"pipelines[0].pipelineReference.referenceName": "Orchestrate", "annotations[0]": "dr-follows-ssisdb",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := got[tt.key]
			for k, v := range tt.fields {
				if a.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, a.Fields[k], v)
				}
			}
			if a.Running != tt.running {
				t.Errorf("running = %v, want %v", a.Running, tt.running)
			}
			if _, ok := a.Fields["runtimeState"]; ok || strings.Contains(string(a.Body), "runtimeState") {
				t.Errorf("runtime state in fields or body: %s", a.Body)
			}
			for k, v := range a.Fields {
				if strings.Contains(v, "P@ssw0rd") {
					t.Errorf("field %s holds the password", k)
				}
			}
			if strings.Contains(string(a.Body), "P@ssw0rd") {
				t.Errorf("body holds the password: %s", a.Body)
			}
		})
	}
}

func TestPutOfAReadPipelineAndTriggerRoundTripsStopped(t *testing.T) {
	active, standby := newFakeFactory(), newFakeFactory()
	seedFactory(t, active, true)
	// No secure string here: those are refused (below).
	active.putPipeline(t, "RunSSIS", `{"activities":[{"name":"Load DW","type":"ExecuteSSISPackage","typeProperties":{"packageLocation":{"type":"SSISDB","packagePath":"DW/Load/LoadDW.dtsx"},"connectVia":{"referenceName":"ssis-ir","type":"IntegrationRuntimeReference"}}}]}`)
	delete(active.pipelines, "nestedssis")
	ctx := context.Background()
	src, dst := newPipelines(t, active), newPipelines(t, standby)
	arts, err := src.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a PUT twice changes nothing more
		for _, a := range arts {
			if err := dst.Put(ctx, a); err != nil {
				t.Fatalf("put %s %s: %v", a.Kind, a.Name, err)
			}
		}
	}
	back, err := dst.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, got := byKey(t, arts), byKey(t, back)
	for k, w := range want {
		g := got[k]
		if !maps.Equal(g.Fields, w.Fields) {
			t.Errorf("%s read back as %v, want %v", k, g.Fields, w.Fields)
		}
		if g.Running {
			t.Errorf("%s runs on the standby after a put", k)
		}
	}
	if diffs := drift.Compare(arts, back, nil, false).Differences; len(diffs) != 0 {
		t.Errorf("differences after a mirror: %+v", diffs)
	}
}

func TestAStartedTriggerIsStoppedBeforeItChanges(t *testing.T) {
	active, standby := newFakeFactory(), newFakeFactory()
	seedFactory(t, active, true)
	seedFactory(t, standby, true)
	standby.putTrigger(t, "nightly", `{"type":"ScheduleTrigger","runtimeState":"Started","typeProperties":{"recurrence":{"frequency":"Hour","interval":6}},
		"pipelines":[{"pipelineReference":{"referenceName":"Orchestrate","type":"PipelineReference"}}]}`)
	ctx := context.Background()
	src, dst := newPipelines(t, active), newPipelines(t, standby)
	arts, err := src.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nightly := byKey(t, arts)["trigger/nightly"]
	err = dst.Put(ctx, nightly)
	if !drerr.Is(err, drerr.Conflict) || !errors.Is(err, datafactory.ErrTriggerStarted) {
		t.Fatalf("put of a started trigger: %v, want Conflict wrapping ErrTriggerStarted", err)
	}
	if err := dst.Delete(ctx, drift.Trigger, "nightly"); !errors.Is(err, datafactory.ErrTriggerStarted) {
		t.Errorf("delete of a started trigger: %v", err)
	}
	if len(standby.writes) != 0 {
		t.Fatalf("writes %q after refusals", standby.writes)
	}
	if err := dst.Stop(ctx, drift.Trigger, "nightly"); err != nil {
		t.Fatal(err)
	}
	if err := dst.Put(ctx, nightly); err != nil {
		t.Fatal(err)
	}
	if want := []string{"stop trigger nightly", "put trigger nightly"}; !slices.Equal(standby.writes, want) {
		t.Errorf("writes %q, want %q", standby.writes, want)
	}
	if s := state(standby.triggers["nightly"]); s != armdatafactory.TriggerRuntimeStateStopped {
		t.Errorf("trigger is %s after the put", s)
	}
}

func TestPipelineRefusalsAndDeletes(t *testing.T) {
	f := newFakeFactory()
	seedFactory(t, f, false)
	p := newPipelines(t, f)
	ctx := context.Background()
	arts, err := p.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := byKey(t, arts)["pipeline/RunSSIS"]
	if err := p.Put(ctx, run); !drerr.Is(err, drerr.Invalid) || !errors.Is(err, datafactory.ErrSecureString) {
		t.Errorf("put of a body with a secure string: %v, want Invalid wrapping ErrSecureString", err)
	}
	for _, err := range []error{
		p.Stop(ctx, drift.Pipeline, "RunSSIS"),
		p.Put(ctx, drift.Artifact{Kind: drift.Map, Name: "m", Body: []byte(`{}`)}),
		p.Put(ctx, drift.Artifact{Kind: drift.Pipeline, Name: "x"}),
		p.Delete(ctx, drift.AgentJob, "j"),
	} {
		if !drerr.Is(err, drerr.Invalid) {
			t.Errorf("got %v, want Invalid", err)
		}
	}
	for _, d := range []struct {
		kind drift.Kind
		name string
	}{{drift.Trigger, "nightly"}, {drift.Trigger, "nightly"}, {drift.Pipeline, "Orchestrate"}, {drift.Pipeline, "gone"}} {
		if err := p.Delete(ctx, d.kind, d.name); err != nil {
			t.Errorf("delete %s %s: %v, want done (404 included)", d.kind, d.name, err)
		}
	}
	if want := []string{"delete trigger nightly", "delete pipeline Orchestrate"}; !slices.Equal(f.writes, want) {
		t.Errorf("writes %q, want %q", f.writes, want)
	}
	if err := p.Stop(ctx, drift.Trigger, "gone"); !drerr.Is(err, drerr.NotFound) {
		t.Errorf("stop of a missing trigger: %v, want NotFound", err)
	}
}

func TestEachSideRunsPackagesOnItsOwnRuntime(t *testing.T) {
	active, standby := newFakeFactory(), newFakeFactory()
	for _, side := range []struct {
		f  *factory
		ir string
	}{{active, "ssis-ir-weu"}, {standby, "ssis-ir-neu"}} {
		side.f.putPipeline(t, "RunSSIS", `{"activities":[{"name":"Load","type":"ExecuteSSISPackage","typeProperties":{"packageLocation":{"type":"SSISDB","packagePath":"DW/Load.dtsx"},"connectVia":{"referenceName":"`+side.ir+`","type":"IntegrationRuntimeReference"}}}]}`)
	}
	ctx := context.Background()
	src, dst := newPipelines(t, active).UseRuntime("ssis-ir-weu"), newPipelines(t, standby).UseRuntime("SSIS-IR-NEU")
	a, err := src.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dst.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := drift.Compare(a, s, nil, false).Differences; len(d) != 0 {
		t.Errorf("each side's own runtime made differences: %+v", d)
	}
	if got := a[0].Fields["activities[Load].typeProperties.connectVia.referenceName"]; got != datafactory.OwnRuntime {
		t.Errorf("runtime reads as %q", got)
	}
	delete(standby.pipelines, "runssis")
	if err := dst.Put(ctx, a[0]); err != nil {
		t.Fatal(err)
	}
	act := standby.pipelines["runssis"].Properties.Activities[0].(*armdatafactory.ExecuteSSISPackageActivity)
	if ir := *act.TypeProperties.ConnectVia.ReferenceName; ir != "SSIS-IR-NEU" {
		t.Errorf("the standby's pipeline runs on %s, want its own runtime", ir)
	}
	if err := newPipelines(t, standby).Put(ctx, a[0]); !drerr.Is(err, drerr.Invalid) {
		t.Errorf("a put without this side's runtime named: %v, want Invalid", err)
	}
}
