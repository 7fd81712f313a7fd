package datafactory_test

import (
	"context"
	"fmt"
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
	"integration-dr/ssis"
)

const factoryID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ssis-northeurope/providers/Microsoft.DataFactory/factories/adf-neu"

// adf is a fake Data Factory. It answers only for the group and factory in factoryID,
// records each start or stop as "<verb> <kind> <name>", and answers each with
// nonTerminal in-progress responses, then the terminal one.
type adf struct {
	status      map[string]armdatafactory.IntegrationRuntimeStatusClassification
	pages       [][]*armdatafactory.TriggerResource
	nonTerminal int
	// beginStatus, when set, refuses the call itself; failStatus fails the operation
	// once begun.
	beginStatus, failStatus int
	code                    string
	calls                   []string
}

func ours(group, factory string) bool { return group == "ssis-northeurope" && factory == "adf-neu" }

func answer[T any](a *adf, group, factory, call string, nonTerminalStatus int) (resp azfake.PollerResponder[T], errResp azfake.ErrorResponder) {
	a.calls = append(a.calls, call)
	switch {
	case !ours(group, factory):
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	case a.beginStatus != 0:
		errResp.SetResponseError(a.beginStatus, a.code)
		return
	}
	for range a.nonTerminal {
		resp.AddNonTerminalResponse(nonTerminalStatus, nil)
	}
	if a.failStatus != 0 {
		resp.SetTerminalError(a.failStatus, a.code)
	} else {
		var done T
		resp.SetTerminalResponse(http.StatusOK, done, nil)
	}
	return
}

func (a *adf) transport() policy.Transporter {
	return fake.NewServerFactoryTransport(&fake.ServerFactory{
		IntegrationRuntimesServer: fake.IntegrationRuntimesServer{
			GetStatus: func(_ context.Context, group, factory, ir string, _ *armdatafactory.IntegrationRuntimesClientGetStatusOptions) (resp azfake.Responder[armdatafactory.IntegrationRuntimesClientGetStatusResponse], errResp azfake.ErrorResponder) {
				st, ok := a.status[ir]
				switch {
				case a.beginStatus != 0:
					errResp.SetResponseError(a.beginStatus, a.code)
				case !ok || !ours(group, factory):
					errResp.SetResponseError(http.StatusNotFound, "IntegrationRuntimeNotFound")
				default:
					resp.SetResponse(http.StatusOK, armdatafactory.IntegrationRuntimesClientGetStatusResponse{IntegrationRuntimeStatusResponse: armdatafactory.IntegrationRuntimeStatusResponse{Name: to.Ptr(ir), Properties: st}}, nil)
				}
				return
			},
			// ADF answers a start or stop of an integration runtime with 202 until done.
			BeginStart: func(_ context.Context, group, factory, ir string, _ *armdatafactory.IntegrationRuntimesClientBeginStartOptions) (azfake.PollerResponder[armdatafactory.IntegrationRuntimesClientStartResponse], azfake.ErrorResponder) {
				return answer[armdatafactory.IntegrationRuntimesClientStartResponse](a, group, factory, "start ir "+ir, http.StatusAccepted)
			},
			BeginStop: func(_ context.Context, group, factory, ir string, _ *armdatafactory.IntegrationRuntimesClientBeginStopOptions) (azfake.PollerResponder[armdatafactory.IntegrationRuntimesClientStopResponse], azfake.ErrorResponder) {
				return answer[armdatafactory.IntegrationRuntimesClientStopResponse](a, group, factory, "stop ir "+ir, http.StatusAccepted)
			},
		},
		TriggersServer: fake.TriggersServer{
			NewListByFactoryPager: func(group, factory string, _ *armdatafactory.TriggersClientListByFactoryOptions) (resp azfake.PagerResponder[armdatafactory.TriggersClientListByFactoryResponse]) {
				if !ours(group, factory) {
					resp.AddResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				for _, p := range a.pages {
					resp.AddPage(http.StatusOK, armdatafactory.TriggersClientListByFactoryResponse{TriggerListResponse: armdatafactory.TriggerListResponse{Value: p}}, nil)
				}
				return
			},
			// The trigger operations answer only 200 (the fake accepts nothing else),
			// so a start or stop still running is a 200 saying so.
			BeginStart: func(_ context.Context, group, factory, trigger string, _ *armdatafactory.TriggersClientBeginStartOptions) (azfake.PollerResponder[armdatafactory.TriggersClientStartResponse], azfake.ErrorResponder) {
				return answer[armdatafactory.TriggersClientStartResponse](a, group, factory, "start trigger "+trigger, http.StatusOK)
			},
			BeginStop: func(_ context.Context, group, factory, trigger string, _ *armdatafactory.TriggersClientBeginStopOptions) (azfake.PollerResponder[armdatafactory.TriggersClientStopResponse], azfake.ErrorResponder) {
				return answer[armdatafactory.TriggersClientStopResponse](a, group, factory, "stop trigger "+trigger, http.StatusOK)
			},
		},
	})
}

// newFactory builds an adapter on tr, without retries and with a short wait between
// looks at a trigger. Adapters built on one transport share the fake's record of
// operations in progress, as clients share ARM.
func newFactory(t *testing.T, id string, tr policy.Transporter) *datafactory.Factory {
	t.Helper()
	f, err := datafactory.New(id, &azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	datafactory.SetTriggerWait(f, time.Millisecond)
	return f
}

func TestIRState(t *testing.T) {
	a := &adf{status: map[string]armdatafactory.IntegrationRuntimeStatusClassification{
		"ssis-ir":     &armdatafactory.ManagedIntegrationRuntimeStatus{Type: to.Ptr(armdatafactory.IntegrationRuntimeTypeManaged), State: to.Ptr(armdatafactory.IntegrationRuntimeStateStarting)},
		"stopped-ir":  &armdatafactory.ManagedIntegrationRuntimeStatus{Type: to.Ptr(armdatafactory.IntegrationRuntimeTypeManaged), State: to.Ptr(armdatafactory.IntegrationRuntimeStateStopped)},
		"selfhosted":  &armdatafactory.SelfHostedIntegrationRuntimeStatus{Type: to.Ptr(armdatafactory.IntegrationRuntimeTypeSelfHosted), State: to.Ptr(armdatafactory.IntegrationRuntimeStateOnline)},
		"stateless":   &armdatafactory.ManagedIntegrationRuntimeStatus{Type: to.Ptr(armdatafactory.IntegrationRuntimeTypeManaged)},
		"no-property": nil,
	}}
	tests := []struct {
		ir   string
		want string
		code drerr.Code
	}{
		{"ssis-ir", ssis.IRStarting, ""},
		{"stopped-ir", ssis.IRStopped, ""},
		{"selfhosted", "Online", ""},
		{"stateless", "", drerr.Internal},
		{"no-property", "", drerr.Internal},
		{"missing-ir", "", drerr.NotFound},
	}
	f := newFactory(t, factoryID, a.transport())
	for _, tt := range tests {
		t.Run(tt.ir, func(t *testing.T) {
			got, err := f.IRState(context.Background(), tt.ir)
			if got != tt.want || (tt.code == "") != (err == nil) || (err != nil && drerr.CodeOf(err) != tt.code) {
				t.Fatalf("IRState: %q, %v (code %s); want %q, code %q", got, err, drerr.CodeOf(err), tt.want, tt.code)
			}
		})
	}
}

func TestBeginIRCallsTheVerb(t *testing.T) {
	for _, start := range []bool{true, false} {
		a := &adf{}
		token, err := newFactory(t, factoryID, a.transport()).BeginIR(context.Background(), "ssis-ir", start)
		want := map[bool]string{true: "start ir ssis-ir", false: "stop ir ssis-ir"}[start]
		if err != nil || token != "" || !slices.Equal(a.calls, []string{want}) {
			t.Errorf("start %v, answered at once: token %q, %v, calls %q; want \"\", nil, [%s]", start, token, err, a.calls, want)
		}
	}
}

// An integration runtime start or stop resumes from its token on a new adapter, as
// after a restart, and is done once ADF's in-progress answers run out.
func TestIRResumesOnANewAdapter(t *testing.T) {
	for _, start := range []bool{true, false} {
		t.Run(fmt.Sprint("start=", start), func(t *testing.T) {
			ctx := context.Background()
			// The first in-progress answer is the start or stop call's own.
			a := &adf{nonTerminal: 3}
			tr := a.transport()
			token, err := newFactory(t, factoryID, tr).BeginIR(ctx, "ssis-ir", start)
			prefix := map[bool]string{true: "start:", false: "stop:"}[start]
			if err != nil || !strings.HasPrefix(token, prefix) {
				t.Fatalf("BeginIR: token %q, %v; want one starting %q", token, err, prefix)
			}
			later := newFactory(t, factoryID, tr)
			for i := range 2 {
				if done, err := later.PollIR(ctx, token); done || err != nil {
					t.Fatalf("poll %d: done %v, %v; want still in progress", i+1, done, err)
				}
			}
			if done, err := later.PollIR(ctx, token); !done || err != nil {
				t.Fatalf("last poll: done %v, %v; want done", done, err)
			}
			if len(a.calls) != 1 {
				t.Errorf("calls %q: polling must not begin again", a.calls)
			}
		})
	}
}

// endFailed turns the fake's final success into what ARM answers for an operation
// that ended in failure, a 200 whose status is Failed, which the fake itself cannot
// express (its terminal errors are HTTP errors).
type endFailed struct{ next policy.Transporter }

func (e endFailed) Do(req *http.Request) (*http.Response, error) {
	resp, err := e.next.Do(req)
	if err == nil && resp.Header.Get("Fake-Poller-Status") == "Succeeded" {
		resp.Header.Set("Fake-Poller-Status", "Failed")
		resp.Header.Set("x-ms-error-code", "OperationFailed")
	}
	return resp, err
}

func TestFailedIROperationIsAnError(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		a          *adf
		endsFailed bool
		want       drerr.Code
	}{
		{"refused as throttled", &adf{beginStatus: http.StatusTooManyRequests, code: "TooManyRequests"}, false, drerr.Throttled},
		{"refused as invalid", &adf{beginStatus: http.StatusBadRequest, code: "IntegrationRuntimeInvalidState"}, false, drerr.Invalid},
		{"failed with an HTTP error while running", &adf{nonTerminal: 1, failStatus: http.StatusServiceUnavailable, code: "ServiceUnavailable"}, false, drerr.Unavailable},
		{"ended Failed while running", &adf{nonTerminal: 1}, true, drerr.Internal},
		{"ended Failed in the first answer", &adf{}, true, drerr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.a.transport()
			if tt.endsFailed {
				tr = endFailed{tr}
			}
			f := newFactory(t, factoryID, tr)
			token, err := f.BeginIR(ctx, "ssis-ir", true)
			if tt.a.nonTerminal == 0 {
				if !drerr.Is(err, tt.want) || token != "" {
					t.Fatalf("BeginIR: token %q, %v (code %s); want %s", token, err, drerr.CodeOf(err), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if done, err := f.PollIR(ctx, token); !drerr.Is(err, tt.want) || done != tt.endsFailed {
				t.Fatalf("PollIR: done %v, %v (code %s); want %s, done only if it ended", done, err, drerr.CodeOf(err), tt.want)
			}
		})
	}
}

func TestIRTokensThatCannotResumeAreInvalid(t *testing.T) {
	ctx := context.Background()
	begin := func(start bool) string {
		token, err := newFactory(t, factoryID, (&adf{nonTerminal: 2}).transport()).BeginIR(ctx, "ssis-ir", start)
		if err != nil || token == "" {
			t.Fatalf("BeginIR: %q, %v", token, err)
		}
		return token
	}
	start, stop := begin(true), begin(false)
	_, sdk, _ := strings.Cut(start, ":")
	_, stopSDK, _ := strings.Cut(stop, ":")
	for _, token := range []string{
		"",
		sdk,                  // no verb
		"resume:" + stopSDK,  // unknown verb
		"stop:" + sdk,        // a start relabelled as a stop
		"start:{\"type\":1}", // not an SDK token
		strings.ReplaceAll(start, "management.azure.com", "attacker.example"),
	} {
		done, err := newFactory(t, factoryID, (&adf{}).transport()).PollIR(ctx, token)
		if done || !drerr.Is(err, drerr.Invalid) {
			t.Errorf("PollIR(%q): done %v, %v (code %s); want invalid", token, done, err, drerr.CodeOf(err))
		}
	}
}

func schedule(state armdatafactory.TriggerRuntimeState, annotations ...any) armdatafactory.TriggerClassification {
	return &armdatafactory.ScheduleTrigger{Type: to.Ptr("ScheduleTrigger"), RuntimeState: to.Ptr(state), Annotations: annotations}
}

func TestTriggersListsEveryPage(t *testing.T) {
	a := &adf{pages: [][]*armdatafactory.TriggerResource{
		{
			{Name: to.Ptr("nightly"), Properties: schedule(armdatafactory.TriggerRuntimeStateStarted, "ssis-dr", 7, map[string]any{"k": "v"}, "finance")},
			{Name: to.Ptr("hourly"), Properties: schedule(armdatafactory.TriggerRuntimeStateStopped)},
		},
		{
			{Properties: schedule(armdatafactory.TriggerRuntimeStateStarted, "ssis-dr")}, // no name
			{Name: to.Ptr("on-blob"), Properties: &armdatafactory.BlobEventsTrigger{Type: to.Ptr("BlobEventsTrigger"), RuntimeState: to.Ptr(armdatafactory.TriggerRuntimeStateDisabled), Annotations: []any{"ssis-dr"}}},
		},
	}}
	got, err := newFactory(t, factoryID, a.transport()).Triggers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ssis.Trigger{
		{Name: "nightly", State: ssis.TriggerStarted, Annotations: []string{"ssis-dr", "finance"}},
		{Name: "hourly", State: ssis.TriggerStopped},
		{Name: "on-blob", State: ssis.TriggerDisabled, Annotations: []string{"ssis-dr"}},
	}
	if !slices.EqualFunc(got, want, func(x, y ssis.Trigger) bool {
		return x.Name == y.Name && x.State == y.State && slices.Equal(x.Annotations, y.Annotations)
	}) {
		t.Fatalf("Triggers: %+v\nwant %+v", got, want)
	}
	if _, err := newFactory(t, strings.Replace(factoryID, "adf-neu", "adf-other", 1), a.transport()).Triggers(context.Background()); !drerr.Is(err, drerr.NotFound) {
		t.Errorf("Triggers of a missing factory: %v (code %s), want not found", err, drerr.CodeOf(err))
	}
}

func TestSetTrigger(t *testing.T) {
	tests := []struct {
		name       string
		a          *adf
		endsFailed bool
		start      bool
		want       string
		code       drerr.Code // "" for success
	}{
		{"start answered at once", &adf{}, false, true, "start trigger nightly", ""},
		{"stop answered at once", &adf{}, false, false, "stop trigger nightly", ""},
		{"start still running in its first answers", &adf{nonTerminal: 3}, false, true, "start trigger nightly", ""},
		{"stop failing while running", &adf{nonTerminal: 2, failStatus: http.StatusInternalServerError, code: "InternalServerError"}, false, false, "stop trigger nightly", drerr.Unavailable},
		{"start ending Failed after running", &adf{nonTerminal: 2}, true, true, "start trigger nightly", drerr.Internal},
		{"stop ending Failed at once", &adf{}, true, false, "stop trigger nightly", drerr.Internal},
		{"start throttled", &adf{beginStatus: http.StatusTooManyRequests, code: "TooManyRequests"}, false, true, "start trigger nightly", drerr.Throttled},
		{"start of a missing trigger", &adf{beginStatus: http.StatusNotFound, code: "TriggerNotFound"}, false, true, "start trigger nightly", drerr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tt.a.transport()
			if tt.endsFailed {
				tr = endFailed{tr}
			}
			err := newFactory(t, factoryID, tr).SetTrigger(context.Background(), "nightly", tt.start)
			if (tt.code == "") != (err == nil) || (err != nil && drerr.CodeOf(err) != tt.code) {
				t.Fatalf("SetTrigger: %v (code %s); want code %q", err, drerr.CodeOf(err), tt.code)
			}
			if !slices.Equal(tt.a.calls, []string{tt.want}) {
				t.Errorf("calls %q, want [%s]", tt.a.calls, tt.want)
			}
		})
	}
}

// A trigger change still running when the caller's context ends is an interruption,
// and the wait ends with it.
func TestSetTriggerEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f := newFactory(t, factoryID, (&adf{nonTerminal: 1000}).transport())
	datafactory.SetTriggerWait(f, time.Hour)
	done := make(chan error, 1)
	go func() { done <- f.SetTrigger(ctx, "nightly", true) }()
	select {
	case err := <-done:
		if !drerr.Is(err, drerr.Interrupted) {
			t.Fatalf("SetTrigger: %v (code %s), want interrupted", err, drerr.CodeOf(err))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SetTrigger kept waiting after its context ended")
	}
}

func TestParseFactoryID(t *testing.T) {
	id, err := datafactory.ParseFactoryID(factoryID)
	if err != nil || id.Name != "adf-neu" || id.ResourceGroupName != "ssis-northeurope" {
		t.Fatalf("ParseFactoryID: %+v, %v", id, err)
	}
	if f := newFactory(t, factoryID, (&adf{}).transport()); f.Name() != "adf-neu" {
		t.Errorf("Name: %q", f.Name())
	}
	for _, bad := range []string{
		"", "not-an-id",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.DataFactory/factories",                            // the collection
		"/subscriptions/s/providers/Microsoft.DataFactory/factories/adf",                                         // no resource group
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.DataFactory/factories/adf/integrationRuntimes/ir", // an IR
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/ssis-fg",
	} {
		if _, err := datafactory.ParseFactoryID(bad); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("ParseFactoryID(%q): %v, want invalid", bad, err)
		}
		if _, err := datafactory.New(bad, &azfake.TokenCredential{}, nil); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("New(%q): %v, want invalid", bad, err)
		}
	}
}
