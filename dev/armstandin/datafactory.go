package armstandin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"
	adffake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9/fake"
)

// Data Factory integration runtimes and triggers, as armdatafactory v9.1.0
// (api-version 2018-06-01) reads, starts and stops them. Both belong to a factory in a
// resource group; their writes are recorded under the group (Writes(group, "")), named
// by the integration runtime or trigger, with the factory in the content.
//
// An integration runtime is an Azure-SSIS (managed) one. Start takes it from Stopped
// or Initial to Starting and runs as a long-running operation (lro.go) that leaves it
// Started; stop takes it from Started to Stopping, then Stopped. Asked for the state it
// is already in (start on Started; stop on Stopped or Initial), it answers 200 at once
// and changes nothing. Error codes: 409 IntegrationRuntimeOperationInProgress while
// Starting or Stopping; 400 IntegrationRuntimeStartFailed for a start made to fail by
// FailIntegrationRuntimeStarts; 400 InvalidIntegrationRuntimeState from any other
// state; 404 ResourceNotFound for one not set up.
//
// A trigger is a schedule trigger; start and stop answer 200 at once (the generated
// trigger clients accept nothing else) and set its runtime state.

// integrationRuntime is an integration runtime as the stand-in keeps it.
type integrationRuntime struct {
	factory, name string
	state         string
	failStarts    int // starts still to refuse
}

// trigger is a trigger as the stand-in keeps it.
type trigger struct {
	factory, name string
	state         string
	annotations   []string
	// def is the definition a PUT gave (properties, without runtime state); nil for
	// one PutTrigger made, which is an hourly schedule trigger.
	def json.RawMessage
}

// PutIntegrationRuntime creates or replaces an integration runtime in the given state
// (as Data Factory names them: Initial, Stopped, Starting, Started, Stopping).
func (s *Server) PutIntegrationRuntime(group, factory, name, state string) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	s.ssis.runtimes[key(group, factory+"/"+name)] = &integrationRuntime{factory: factory, name: name, state: state}
}

// IntegrationRuntimeState returns an integration runtime's state, and whether it exists.
func (s *Server) IntegrationRuntimeState(group, factory, name string) (string, bool) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	ir, ok := s.ssis.runtimes[key(group, factory+"/"+name)]
	if !ok {
		return "", false
	}
	return ir.state, true
}

// FailIntegrationRuntimeStarts makes the next n starts of an existing integration
// runtime that would begin (from Stopped or Initial) fail: the POST answers 400
// IntegrationRuntimeStartFailed and the state stays. n = 0 clears it.
func (s *Server) FailIntegrationRuntimeStarts(group, factory, name string, n int) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	if ir, ok := s.ssis.runtimes[key(group, factory+"/"+name)]; ok {
		ir.failStarts = max(n, 0)
	}
}

// PutTrigger creates or replaces a trigger with a runtime state (Started, Stopped,
// Disabled) and annotations.
func (s *Server) PutTrigger(group, factory, name, state string, annotations ...string) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	s.ssis.triggers[key(group, factory+"/"+name)] = &trigger{factory: factory, name: name, state: state, annotations: slices.Clone(annotations)}
}

// TriggerState returns a trigger's runtime state, and whether it exists.
func (s *Server) TriggerState(group, factory, name string) (string, bool) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	t, ok := s.ssis.triggers[key(group, factory+"/"+name)]
	if !ok {
		return "", false
	}
	return t.state, true
}

func (ir *integrationRuntime) status() armdatafactory.IntegrationRuntimeStatusResponse {
	return armdatafactory.IntegrationRuntimeStatusResponse{
		Name: to.Ptr(ir.name),
		Properties: &armdatafactory.ManagedIntegrationRuntimeStatus{
			Type:            to.Ptr(armdatafactory.IntegrationRuntimeTypeManaged),
			State:           to.Ptr(armdatafactory.IntegrationRuntimeState(ir.state)),
			DataFactoryName: to.Ptr(ir.factory),
		},
	}
}

func (s *Server) integrationRuntimesServer() *adffake.IntegrationRuntimesServer {
	return &adffake.IntegrationRuntimesServer{
		GetStatus: func(_ context.Context, group, factory, name string, _ *armdatafactory.IntegrationRuntimesClientGetStatusOptions) (resp azfake.Responder[armdatafactory.IntegrationRuntimesClientGetStatusResponse], errResp azfake.ErrorResponder) {
			s.ssis.mu.Lock()
			defer s.ssis.mu.Unlock()
			ir, ok := s.ssis.runtimes[key(group, factory+"/"+name)]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armdatafactory.IntegrationRuntimesClientGetStatusResponse{IntegrationRuntimeStatusResponse: ir.status()}, nil)
			return
		},
	}
}

// setIntegrationRuntime serves POST .../integrationRuntimes/{name}/start and /stop.
func (s *Server) setIntegrationRuntime(group, factory, name string, start bool) handler {
	return func(r *http.Request) (*http.Response, error) {
		st := s.ssis
		st.mu.Lock()
		defer st.mu.Unlock()
		ir, ok := st.runtimes[key(group, factory+"/"+name)]
		if !ok {
			return answerError(http.StatusNotFound, "ResourceNotFound", "no integration runtime "+factory+"/"+name)
		}
		op, from, via, target := "integrationRuntimes.stop", []string{"Started"}, "Stopping", "Stopped"
		idle := []string{"Stopped", "Initial"}
		// final is the answer once done: start returns the status, stop has no body.
		final := func() (int, any) { return http.StatusNoContent, nil }
		if start {
			op, from, via, target, idle = "integrationRuntimes.start", []string{"Stopped", "Initial"}, "Starting", "Started", []string{"Started"}
			final = func() (int, any) { return http.StatusOK, ir.status() }
		}
		content := map[string]string{"factory": ir.factory}
		switch {
		case ir.state == "Starting" || ir.state == "Stopping":
			return answerError(http.StatusConflict, "IntegrationRuntimeOperationInProgress", "integration runtime "+ir.name+" is "+ir.state)
		case slices.Contains(idle, ir.state):
			// Nothing to do: the request is served, and answered final at once.
			content["state"] = ir.state
			s.recordLocked(group, op, ir.name, content)
			st.logLocked(s.store.now(), op, PhaseCompleted, group, ir.name, "")
			if start {
				return answer(http.StatusOK, nil, ir.status())
			}
			return answer(http.StatusOK, nil, nil)
		case !slices.Contains(from, ir.state):
			return answerError(http.StatusBadRequest, "InvalidIntegrationRuntimeState", "integration runtime "+ir.name+" is "+ir.state)
		case start && ir.failStarts > 0:
			ir.failStarts--
			return answerError(http.StatusBadRequest, "IntegrationRuntimeStartFailed", "the stand-in failed the start of "+ir.name+" as told")
		}
		ir.state = via
		content["state"] = via
		s.recordLocked(group, op, ir.name, content)
		return s.beginLocked(r, &operation{
			op: op, group: group, name: ir.name,
			complete: func() { ir.state = target },
			result:   final,
		})
	}
}

func (t *trigger) resource(id string) armdatafactory.TriggerResource {
	if r, ok := t.defined(id); ok {
		return r
	}
	annotations := make([]any, len(t.annotations))
	for i, a := range t.annotations {
		annotations[i] = a
	}
	return armdatafactory.TriggerResource{
		ID:   to.Ptr(id),
		Name: to.Ptr(t.name),
		Type: to.Ptr("Microsoft.DataFactory/factories/triggers"),
		Properties: &armdatafactory.ScheduleTrigger{
			Type:         to.Ptr("ScheduleTrigger"),
			RuntimeState: to.Ptr(armdatafactory.TriggerRuntimeState(t.state)),
			Annotations:  annotations,
			TypeProperties: &armdatafactory.ScheduleTriggerTypeProperties{Recurrence: &armdatafactory.ScheduleTriggerRecurrence{
				Frequency: to.Ptr(armdatafactory.RecurrenceFrequencyHour),
				Interval:  to.Ptr[int32](1),
			}},
		},
	}
}

func (s *Server) triggersServer(r *http.Request) *adffake.TriggersServer {
	// set serves start and stop alike: 200 and no body, at once.
	set := func(group, factory, name, state, op string) bool {
		st := s.ssis
		st.mu.Lock()
		defer st.mu.Unlock()
		t, ok := st.triggers[key(group, factory+"/"+name)]
		if !ok {
			return false
		}
		t.state = state
		s.recordLocked(group, op, t.name, map[string]string{"factory": t.factory, "state": state})
		st.logLocked(s.store.now(), op, PhaseCompleted, group, t.name, "")
		return true
	}
	return &adffake.TriggersServer{
		Get: func(_ context.Context, group, factory, name string, _ *armdatafactory.TriggersClientGetOptions) (resp azfake.Responder[armdatafactory.TriggersClientGetResponse], errResp azfake.ErrorResponder) {
			s.ssis.mu.Lock()
			defer s.ssis.mu.Unlock()
			t, ok := s.ssis.triggers[key(group, factory+"/"+name)]
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientGetResponse{TriggerResource: t.resource(r.URL.Path)}, nil)
			return
		},
		NewListByFactoryPager: func(group, factory string, _ *armdatafactory.TriggersClientListByFactoryOptions) (resp azfake.PagerResponder[armdatafactory.TriggersClientListByFactoryResponse]) {
			s.ssis.mu.Lock()
			defer s.ssis.mu.Unlock()
			prefix := key(group, factory) + "/"
			var page armdatafactory.TriggersClientListByFactoryResponse
			for k, t := range s.ssis.triggers {
				if strings.HasPrefix(k, prefix) {
					v := t.resource(r.URL.Path + "/" + t.name)
					page.Value = append(page.Value, &v)
				}
			}
			slices.SortFunc(page.Value, func(a, b *armdatafactory.TriggerResource) int { return strings.Compare(*a.Name, *b.Name) })
			resp.AddPage(http.StatusOK, page, nil)
			return
		},
		BeginStart: func(_ context.Context, group, factory, name string, _ *armdatafactory.TriggersClientBeginStartOptions) (resp azfake.PollerResponder[armdatafactory.TriggersClientStartResponse], errResp azfake.ErrorResponder) {
			if !set(group, factory, name, "Started", "triggers.start") {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armdatafactory.TriggersClientStartResponse{}, nil)
			return
		},
		BeginStop: func(_ context.Context, group, factory, name string, _ *armdatafactory.TriggersClientBeginStopOptions) (resp azfake.PollerResponder[armdatafactory.TriggersClientStopResponse], errResp azfake.ErrorResponder) {
			if !set(group, factory, name, "Stopped", "triggers.stop") {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetTerminalResponse(http.StatusOK, armdatafactory.TriggersClientStopResponse{}, nil)
			return
		},
	}
}
