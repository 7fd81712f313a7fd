package armstandin

import (
	"context"
	"encoding/json"
	"net/http"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"
)

// Logic Apps workflows belong to a resource group, not to an integration account: the
// stand-in files their requests under the account "" of their group, so a clock
// offset or unreachability set for (group, "") applies to them (and to every account
// of the group), and their stats and writes are under "group/".

// PutWorkflow creates or replaces a workflow in the given state.
func (s *Server) PutWorkflow(group, name string, state armlogic.WorkflowState) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.workflows[key(group, name)] = &workflow{name: name, state: state}
}

// WorkflowState returns a workflow's state, and whether the workflow exists.
func (s *Server) WorkflowState(group, name string) (armlogic.WorkflowState, bool) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	w, ok := s.store.workflows[key(group, name)]
	if !ok {
		return "", false
	}
	return w.state, true
}

// setWorkflowState changes an existing workflow's state; it reports whether one exists.
func (s *store) setWorkflowState(group, name string, state armlogic.WorkflowState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.workflows[key(group, name)]
	if ok {
		w.state = state
	}
	return ok
}

func (s *Server) workflowsServer(r *http.Request) *fake.WorkflowsServer {
	// set serves enable and disable alike: 200 and no body, as Logic Apps answers.
	set := func(group, name string, state armlogic.WorkflowState, op string) bool {
		if !s.store.setWorkflowState(group, name, state) {
			return false
		}
		content, _ := json.Marshal(map[string]armlogic.WorkflowState{"state": state})
		s.recordWrite(group, "", op, name, content)
		return true
	}
	return &fake.WorkflowsServer{
		Get: func(_ context.Context, group, name string, _ *armlogic.WorkflowsClientGetOptions) (resp azfake.Responder[armlogic.WorkflowsClientGetResponse], errResp azfake.ErrorResponder) {
			state, ok := s.WorkflowState(group, name)
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientGetResponse{Workflow: armlogic.Workflow{
				ID:         to.Ptr(r.URL.Path),
				Name:       to.Ptr(name),
				Type:       to.Ptr("Microsoft.Logic/workflows"),
				Properties: &armlogic.WorkflowProperties{State: to.Ptr(state)},
			}}, nil)
			return
		},
		Enable: func(_ context.Context, group, name string, _ *armlogic.WorkflowsClientEnableOptions) (resp azfake.Responder[armlogic.WorkflowsClientEnableResponse], errResp azfake.ErrorResponder) {
			if !set(group, name, armlogic.WorkflowStateEnabled, "workflows.enable") {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientEnableResponse{}, nil)
			return
		},
		Disable: func(_ context.Context, group, name string, _ *armlogic.WorkflowsClientDisableOptions) (resp azfake.Responder[armlogic.WorkflowsClientDisableResponse], errResp azfake.ErrorResponder) {
			if !set(group, name, armlogic.WorkflowStateDisabled, "workflows.disable") {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.WorkflowsClientDisableResponse{}, nil)
			return
		},
	}
}
