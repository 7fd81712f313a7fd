package armstandin

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"
	adffake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9/fake"
)

// Data Factory pipelines (list, get, put, delete) and trigger definitions (put,
// delete; reads, start and stop are datafactory.go's), as armdatafactory v9.1.0 calls
// them. Like the rest of a factory they are filed under their resource group (account
// ""). A PUT answers 200 whether it created or replaced (the SDK accepts nothing
// else): Writes tell the two apart ("pipelines.create", "pipelines.update").
//
// A trigger is created stopped, as Data Factory creates triggers; a started one can be
// neither changed nor deleted: 400 TriggerEnabledCannotUpdate, until it is stopped.

var (
	pipelinesPath  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.DataFactory/factories/([^/]+)/pipelines(?:/([^/]+))?$`)
	triggerDefPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.DataFactory/factories/([^/]+)/triggers/([^/]+)$`)
)

func (s *Server) routePipelines(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	if m := pipelinesPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, name := m[1], m[3]
		switch {
		case name == "" && r.Method == http.MethodGet:
			api = "PipelinesClient.NewListByFactoryPager"
		case name != "" && r.Method == http.MethodGet:
			api = "PipelinesClient.Get"
		case name != "" && r.Method == http.MethodPut:
			api = "PipelinesClient.CreateOrUpdate"
		case name != "" && r.Method == http.MethodDelete:
			api = "PipelinesClient.Delete"
		default:
			return "", "", "", nil, false
		}
		return api, group, "", adffake.NewPipelinesServerTransport(s.pipelinesServer(r)), true
	}
	if m := triggerDefPath.FindStringSubmatch(r.URL.Path); m != nil {
		switch r.Method {
		case http.MethodPut:
			api = "TriggersClient.CreateOrUpdate"
		case http.MethodDelete:
			api = "TriggersClient.Delete"
		default:
			return "", "", "", nil, false // reads: routeSSIS's
		}
		return api, m[1], "", adffake.NewTriggersServerTransport(s.triggerWrites()), true
	}
	return "", "", "", nil, false
}

func (s *Server) pipelinesServer(r *http.Request) *adffake.PipelinesServer {
	a := artifactAPI{s: s, r: r, kind: "pipelines", factory: true}
	return &adffake.PipelinesServer{
		NewListByFactoryPager: lister[armdatafactory.PipelinesClientListByFactoryOptions, armdatafactory.PipelinesClientListByFactoryResponse](a),
		Get:                   getter[armdatafactory.PipelinesClientGetOptions, armdatafactory.PipelinesClientGetResponse](a),
		CreateOrUpdate: putter[armdatafactory.PipelinesClientCreateOrUpdateOptions, armdatafactory.PipelinesClientCreateOrUpdateResponse](a, func(b armdatafactory.PipelineResource) (any, bool) {
			return b.Properties, b.Properties != nil
		}),
		Delete: deleter[armdatafactory.PipelinesClientDeleteOptions, armdatafactory.PipelinesClientDeleteResponse](a),
	}
}

func (s *Server) triggerWrites() *adffake.TriggersServer {
	return &adffake.TriggersServer{
		CreateOrUpdate: func(_ context.Context, group, factory, name string, body armdatafactory.TriggerResource, _ *armdatafactory.TriggersClientCreateOrUpdateOptions) (resp azfake.Responder[armdatafactory.TriggersClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			if body.Properties == nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
				return
			}
			t, status, code := s.putTriggerDefinition(group, factory, name, "", body.Properties, true)
			if status != http.StatusOK {
				errResp.SetResponseError(status, code)
				return
			}
			resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientCreateOrUpdateResponse{TriggerResource: t}, nil)
			return
		},
		Delete: func(_ context.Context, group, factory, name string, _ *armdatafactory.TriggersClientDeleteOptions) (resp azfake.Responder[armdatafactory.TriggersClientDeleteResponse], errResp azfake.ErrorResponder) {
			st := s.ssis
			st.mu.Lock()
			defer st.mu.Unlock()
			k := key(group, factory+"/"+name)
			t, ok := st.triggers[k]
			switch {
			case !ok:
				resp.SetResponse(http.StatusNoContent, armdatafactory.TriggersClientDeleteResponse{}, nil)
			case t.state == "Started":
				errResp.SetResponseError(http.StatusBadRequest, "TriggerEnabledCannotUpdate")
			default:
				delete(st.triggers, k)
				s.recordLocked(group, "triggers.delete", t.name, map[string]string{"factory": t.factory})
				resp.SetResponse(http.StatusOK, armdatafactory.TriggersClientDeleteResponse{}, nil)
			}
			return
		},
	}
}

// putTriggerDefinition creates or replaces a trigger's definition. Through the API
// (viaAPI) a new trigger is Stopped, a started one is refused, and the write is
// recorded; directly, state (when not "") sets its runtime state.
func (s *Server) putTriggerDefinition(group, factory, name, state string, props any, viaAPI bool) (armdatafactory.TriggerResource, int, string) {
	raw, err := rawJSON(props)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil || m == nil {
		return armdatafactory.TriggerResource{}, http.StatusBadRequest, "InvalidRequestContent"
	}
	delete(m, "runtimeState") // read-only: start and stop set it
	var annotations []string
	if as, ok := m["annotations"].([]any); ok {
		for _, a := range as {
			if s, ok := a.(string); ok {
				annotations = append(annotations, s)
			}
		}
	}
	def, _ := json.Marshal(m)
	st := s.ssis
	st.mu.Lock()
	defer st.mu.Unlock()
	k := key(group, factory+"/"+name)
	t, had := st.triggers[k]
	if viaAPI && had && t.state == "Started" {
		return armdatafactory.TriggerResource{}, http.StatusBadRequest, "TriggerEnabledCannotUpdate"
	}
	if !had {
		t = &trigger{factory: factory, name: name, state: "Stopped"}
		st.triggers[k] = t
	}
	if state != "" {
		t.state = state
	}
	t.def, t.annotations = def, annotations
	if viaAPI {
		op := "triggers.update"
		if !had {
			op = "triggers.create"
		}
		s.recordLocked(group, op, t.name, map[string]string{"factory": t.factory, "state": t.state})
	}
	return t.resource(""), http.StatusOK, ""
}

// defined is the trigger as its definition says, with its runtime state.
func (t *trigger) defined(id string) (armdatafactory.TriggerResource, bool) {
	if t.def == nil {
		return armdatafactory.TriggerResource{}, false
	}
	var props map[string]any
	if json.Unmarshal(t.def, &props) != nil {
		return armdatafactory.TriggerResource{}, false
	}
	props["runtimeState"] = t.state
	var r armdatafactory.TriggerResource
	err := convert(map[string]any{"id": id, "name": t.name, "type": "Microsoft.DataFactory/factories/triggers", "properties": props}, &r)
	return r, err == nil
}

// PutPipeline creates or replaces a pipeline directly: props are its properties (the
// SDK's armdatafactory.Pipeline, or JSON). Direct writes are not in Writes.
func (s *Server) PutPipeline(group, factory, name string, props any) error {
	_, _, err := s.storeArtifact("pipelines", group, factory, "", name, props)
	return err
}

// PutTriggerDefinition creates or replaces a trigger with a definition (its
// properties, as the SDK's type or JSON) and a runtime state (Started, Stopped).
func (s *Server) PutTriggerDefinition(group, factory, name, state string, props any) error {
	if _, status, code := s.putTriggerDefinition(group, factory, name, state, props, false); status != http.StatusOK {
		return &definitionError{code}
	}
	return nil
}

type definitionError struct{ code string }

func (e *definitionError) Error() string { return "trigger definition refused: " + e.code }

// Pipelines returns a factory's pipelines by name: their properties as stored.
func (s *Server) Pipelines(group, factory string) map[string]json.RawMessage {
	return s.items("pipelines", group, factory)
}

// TriggerDefinitions returns a factory's triggers by name: their definitions with
// their runtime state, as Get answers them.
func (s *Server) TriggerDefinitions(group, factory string) map[string]json.RawMessage {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	out := map[string]json.RawMessage{}
	prefix := key(group, factory) + "/"
	for k, t := range s.ssis.triggers {
		if strings.HasPrefix(k, prefix) {
			r := t.resource("")
			out[t.name], _ = json.Marshal(r.Properties)
		}
	}
	return out
}
