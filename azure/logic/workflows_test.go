package logic_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
)

const workflowID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.Logic/workflows/x12-intake"

// workflows is a fake Logic Apps holding workflow states by name. With strict set, it
// answers 409 to enabling an enabled or disabling a disabled workflow, as a service
// refusing the no-op might.
type workflows struct {
	states      map[string]armlogic.WorkflowState
	strict      bool
	gets, posts int
}

func (w *workflows) server() *fake.WorkflowsServer {
	set := func(name string, to armlogic.WorkflowState) (status int, code string) {
		w.posts++
		cur, ok := w.states[name]
		switch {
		case !ok:
			return http.StatusNotFound, "ResourceNotFound"
		case w.strict && cur == to:
			return http.StatusConflict, "WorkflowStateUnchanged"
		}
		w.states[name] = to
		return http.StatusOK, ""
	}
	return &fake.WorkflowsServer{
		Get: func(_ context.Context, group, name string, _ *armlogic.WorkflowsClientGetOptions) (resp azfake.Responder[armlogic.WorkflowsClientGetResponse], errResp azfake.ErrorResponder) {
			w.gets++
			st, ok := w.states[name]
			if !ok || group != "b2b-westeurope" {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientGetResponse{Workflow: armlogic.Workflow{
				Name: to.Ptr(name), Properties: &armlogic.WorkflowProperties{State: to.Ptr(st)},
			}}, nil)
			return
		},
		Enable: func(_ context.Context, _, name string, _ *armlogic.WorkflowsClientEnableOptions) (resp azfake.Responder[armlogic.WorkflowsClientEnableResponse], errResp azfake.ErrorResponder) {
			if status, code := set(name, armlogic.WorkflowStateEnabled); status != http.StatusOK {
				errResp.SetResponseError(status, code)
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientEnableResponse{}, nil)
			return
		},
		Disable: func(_ context.Context, _, name string, _ *armlogic.WorkflowsClientDisableOptions) (resp azfake.Responder[armlogic.WorkflowsClientDisableResponse], errResp azfake.ErrorResponder) {
			if status, code := set(name, armlogic.WorkflowStateDisabled); status != http.StatusOK {
				errResp.SetResponseError(status, code)
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientDisableResponse{}, nil)
			return
		},
	}
}

func newWorkflow(t *testing.T, id string, srv *fake.WorkflowsServer) *logic.Workflow {
	t.Helper()
	return onFake(t, fake.NewWorkflowsServerTransport(srv), func(c azcore.TokenCredential, o *arm.ClientOptions) (*logic.Workflow, error) {
		return logic.NewWorkflow(id, c, o)
	})
}

func TestWorkflowRoundTrip(t *testing.T) {
	for _, strict := range []bool{false, true} {
		fw := &workflows{states: map[string]armlogic.WorkflowState{"x12-intake": armlogic.WorkflowStateEnabled}, strict: strict}
		w := newWorkflow(t, workflowID, fw.server())
		ctx := context.Background()
		state := func(want string) {
			t.Helper()
			if got, err := w.State(ctx); err != nil || got != want {
				t.Fatalf("strict %v: state %q, %v; want %q", strict, got, err, want)
			}
		}
		state(logic.WorkflowEnabled)
		for range 2 { // the second call is a no-op
			if err := w.Disable(ctx); err != nil {
				t.Fatalf("strict %v: disable: %v", strict, err)
			}
			state(logic.WorkflowDisabled)
		}
		for range 2 {
			if err := w.Enable(ctx); err != nil {
				t.Fatalf("strict %v: enable: %v", strict, err)
			}
			state(logic.WorkflowEnabled)
		}
		if fw.posts != 2 {
			t.Errorf("strict %v: %d posts, want one per actual change", strict, fw.posts)
		}
	}
}

// A workflow that changes between the read and the post (another operator, a second
// plan step) is still where the caller wants it: no error.
func TestWorkflowRaceToTheSameStateIsNoError(t *testing.T) {
	fw := &workflows{states: map[string]armlogic.WorkflowState{"x12-intake": armlogic.WorkflowStateEnabled}, strict: true}
	srv := fw.server()
	get := srv.Get
	srv.Get = func(ctx context.Context, group, name string, o *armlogic.WorkflowsClientGetOptions) (azfake.Responder[armlogic.WorkflowsClientGetResponse], azfake.ErrorResponder) {
		resp, errResp := get(ctx, group, name, o)
		if fw.gets == 1 {
			fw.states[name] = armlogic.WorkflowStateDisabled // someone else disables it after our read
		}
		return resp, errResp
	}
	if err := newWorkflow(t, workflowID, srv).Disable(context.Background()); err != nil {
		t.Fatalf("disable raced by another disable: %v", err)
	}
	if fw.states["x12-intake"] != armlogic.WorkflowStateDisabled || fw.posts != 1 {
		t.Errorf("state %s after %d posts", fw.states["x12-intake"], fw.posts)
	}
}

func TestMissingWorkflowIsNotFound(t *testing.T) {
	fw := &workflows{states: map[string]armlogic.WorkflowState{}}
	w := newWorkflow(t, workflowID, fw.server())
	ctx := context.Background()
	if _, err := w.State(ctx); !drerr.Is(err, drerr.NotFound) {
		t.Errorf("State: %v (code %s), want not found", err, drerr.CodeOf(err))
	}
	for name, f := range map[string]func(context.Context) error{"Enable": w.Enable, "Disable": w.Disable} {
		if err := f(ctx); !drerr.Is(err, drerr.NotFound) {
			t.Errorf("%s: %v (code %s), want not found", name, err, drerr.CodeOf(err))
		}
	}
}

func TestFailedPostIsReported(t *testing.T) {
	fw := &workflows{states: map[string]armlogic.WorkflowState{"x12-intake": armlogic.WorkflowStateSuspended}}
	srv := fw.server()
	srv.Enable = func(context.Context, string, string, *armlogic.WorkflowsClientEnableOptions) (resp azfake.Responder[armlogic.WorkflowsClientEnableResponse], errResp azfake.ErrorResponder) {
		errResp.SetResponseError(http.StatusServiceUnavailable, "ServiceUnavailable")
		return
	}
	if err := newWorkflow(t, workflowID, srv).Enable(context.Background()); !drerr.Is(err, drerr.Unavailable) {
		t.Fatalf("enable that failed: %v (code %s), want unavailable", err, drerr.CodeOf(err))
	}
}

func TestParseWorkflowID(t *testing.T) {
	id, err := logic.ParseWorkflowID(workflowID)
	if err != nil || id.Name != "x12-intake" || id.ResourceGroupName != "b2b-westeurope" {
		t.Fatalf("ParseWorkflowID: %+v, %v", id, err)
	}
	for _, bad := range []string{
		"", "not-an-id",
		accountID, // an integration account
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app/workflows/wf", // Standard logic app
	} {
		if _, err := logic.ParseWorkflowID(bad); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("ParseWorkflowID(%q): %v, want invalid", bad, err)
		}
		if _, err := logic.NewWorkflow(bad, &azfake.TokenCredential{}, nil); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("NewWorkflow(%q): %v, want invalid", bad, err)
		}
	}
}
