package datafactory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/drift"
)

// Pipelines are the pipelines of one data factory that run SSIS packages, and the
// triggers that start them, as drift compares them and a mirror writes them.
//
// A pipeline counts when it holds an Execute SSIS Package activity anywhere (inside
// ForEach, If Condition, Switch or Until too), or executes such a pipeline (Execute
// Pipeline, at any depth of calls). A trigger counts when it names a pipeline that
// counts.
//
// Fields are the resource's properties flattened by drift.Flatten: activities by name
// ("activities[Load DW].typeProperties.packageLocation.packagePath",
// "activities[Load DW].typeProperties.connectVia.referenceName",
// "parameters.runDate.type"); a trigger's "type", "typeProperties.recurrence.frequency",
// "pipelines[0].pipelineReference.referenceName", "annotations[0]". A trigger's
// runtime state is no field: it is Running, the side's own state. A secure string's
// value is never read into Fields or Body: it reads "(secure)".
//
// Body is the properties as a PUT takes them (no runtime state). Properties the SDK
// does not model are kept where the SDK keeps them (an activity's additional
// properties) and lost elsewhere: armdatafactory v9.1.0's model is what is copied.
type Pipelines struct {
	pipelines   *armdatafactory.PipelinesClient
	triggers    *armdatafactory.TriggersClient
	group       string
	name        string
	triggerWait time.Duration
	// runtime is this factory's Azure-SSIS IR (UseRuntime), "" when not named.
	runtime string
}

// OwnRuntime is what a reference to a factory's own Azure-SSIS IR reads as, in Fields
// and Body, once UseRuntime names it: each side of a dual-standby pair runs its
// packages on its own IR, whose name may differ.
const OwnRuntime = "(this factory's SSIS runtime)"

// UseRuntime names this factory's Azure-SSIS integration runtime: references to it
// read as OwnRuntime, and Put writes OwnRuntime back as ir. It returns p.
func (p *Pipelines) UseRuntime(ir string) *Pipelines {
	p.runtime = ir
	return p
}

// ErrTriggerStarted is wrapped by a Put or Delete of a trigger that is started: Data
// Factory changes only stopped triggers. Whether it may be stopped (the standby, not
// serving) is the caller's call: Stop, then try again.
var ErrTriggerStarted = errors.New("the trigger is started: stop it first")

// ErrSecureString is wrapped by a Put of a body holding a secure string: Data Factory
// does not return the value, so a copy would write the mask.
var ErrSecureString = errors.New("the definition holds a secure string, which cannot be copied")

// secureMask stands for a secure string's value.
const secureMask = "(secure)"

// NewPipelines returns the SSIS pipelines and triggers of the data factory named by
// its ARM resource ID.
func NewPipelines(factoryID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Pipelines, error) {
	const op = "data factory pipelines client"
	id, err := ParseFactoryID(factoryID)
	if err != nil {
		return nil, err
	}
	f, err := armdatafactory.NewClientFactory(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	return &Pipelines{pipelines: f.NewPipelinesClient(), triggers: f.NewTriggersClient(), group: id.ResourceGroupName, name: id.Name, triggerWait: triggerWait}, nil
}

// definition is one pipeline or trigger as read: its properties as a JSON tree.
type definition struct {
	name string
	tree map[string]any
}

// Artifacts reads the pipelines that run SSIS packages and the triggers that start
// them, following every page: pipelines first, then triggers, each by name.
func (p *Pipelines) Artifacts(ctx context.Context) ([]drift.Artifact, error) {
	pipes, err := p.listPipelines(ctx)
	if err != nil {
		return nil, err
	}
	keep := ssisPipelines(pipes)
	var out []drift.Artifact
	for _, d := range pipes {
		if keep[strings.ToLower(d.name)] {
			a, err := artifactOf(drift.Pipeline, d)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	trigs, err := p.listTriggers(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range trigs {
		if !slices.ContainsFunc(pipelineRefs(d.tree), func(n string) bool { return keep[strings.ToLower(n)] }) {
			continue
		}
		running := d.tree["runtimeState"] == string(armdatafactory.TriggerRuntimeStateStarted)
		delete(d.tree, "runtimeState") // the side's own state, set by start and stop only
		a, err := artifactOf(drift.Trigger, d)
		if err != nil {
			return nil, err
		}
		a.Running = running
		out = append(out, a)
	}
	return out, nil
}

func (p *Pipelines) listPipelines(ctx context.Context) ([]definition, error) {
	return listAll(ctx, "list pipelines of "+p.name, p.pipelines.NewListByFactoryPager(p.group, p.name, nil), p.runtime,
		func(page armdatafactory.PipelinesClientListByFactoryResponse) []named {
			out := make([]named, 0, len(page.Value))
			for _, r := range page.Value {
				if r != nil && r.Name != nil && r.Properties != nil {
					out = append(out, named{*r.Name, r.Properties})
				}
			}
			return out
		})
}

func (p *Pipelines) listTriggers(ctx context.Context) ([]definition, error) {
	return listAll(ctx, "list triggers of "+p.name, p.triggers.NewListByFactoryPager(p.group, p.name, nil), "",
		func(page armdatafactory.TriggersClientListByFactoryResponse) []named {
			out := make([]named, 0, len(page.Value))
			for _, r := range page.Value {
				if r != nil && r.Name != nil && r.Properties != nil {
					out = append(out, named{*r.Name, r.Properties})
				}
			}
			return out
		})
}

// named is a listed resource's name and properties.
type named struct {
	name  string
	props any
}

// listAll reads every page of a factory's listing into definitions (see read).
func listAll[T any](ctx context.Context, op string, pager *runtime.Pager[T], ir string, items func(T) []named) ([]definition, error) {
	var out []definition
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Wrap(op, err)
		}
		for _, it := range items(page) {
			d, err := read(op, it.name, it.props, ir)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// read turns properties into a JSON tree through the SDK's own JSON (the REST API's
// names), secure strings masked and references to runtime (when not "") read as
// OwnRuntime.
func read(op, name string, props any, runtime string) (definition, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return definition{}, drerr.E(drerr.Internal, op, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return definition{}, drerr.E(drerr.Internal, op, err)
	}
	walk(tree, func(m map[string]any) {
		switch m["type"] {
		case "SecureString":
			m["value"] = secureMask
		case "IntegrationRuntimeReference":
			if ref, _ := m["referenceName"].(string); runtime != "" && strings.EqualFold(ref, runtime) {
				m["referenceName"] = OwnRuntime
			}
		}
	})
	return definition{name: name, tree: tree}, nil
}

func artifactOf(k drift.Kind, d definition) (drift.Artifact, error) {
	f := map[string]string{}
	drift.Flatten(f, "", d.tree)
	body, err := json.Marshal(d.tree)
	if err != nil {
		return drift.Artifact{}, drerr.E(drerr.Internal, fmt.Sprintf("read %s %s", k, d.name), err)
	}
	return drift.Artifact{Kind: k, Name: d.name, Fields: f, Body: body}, nil
}

// walk calls visit on every object in v, depth first.
func walk(v any, visit func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		visit(x)
		for _, e := range x {
			walk(e, visit)
		}
	case []any:
		for _, e := range x {
			walk(e, visit)
		}
	}
}

// ssisPipelines returns the lower-case names of the pipelines that run an SSIS
// package themselves or through the pipelines they execute.
func ssisPipelines(pipes []definition) map[string]bool {
	keep := map[string]bool{}
	calls := map[string][]string{}
	for _, d := range pipes {
		n := strings.ToLower(d.name)
		walk(d.tree, func(m map[string]any) {
			switch m["type"] {
			case "ExecuteSSISPackage":
				keep[n] = true
			case "ExecutePipeline":
				if ref := refName(m, "typeProperties", "pipeline"); ref != "" {
					calls[n] = append(calls[n], strings.ToLower(ref))
				}
			}
		})
	}
	// Callers of what counts count too, to any depth: repeat until nothing changes.
	for changed := true; changed; {
		changed = false
		for caller, callees := range calls {
			if !keep[caller] && slices.ContainsFunc(callees, func(c string) bool { return keep[c] }) {
				keep[caller], changed = true, true
			}
		}
	}
	return keep
}

// pipelineRefs returns the pipelines a trigger starts: "pipelines" (schedule, event
// and other multiple-pipeline triggers) or "pipeline" (tumbling window, chaining).
func pipelineRefs(tree map[string]any) []string {
	var out []string
	if ps, ok := tree["pipelines"].([]any); ok {
		for _, e := range ps {
			if m, ok := e.(map[string]any); ok {
				if n := refName(m, "pipelineReference"); n != "" {
					out = append(out, n)
				}
			}
		}
	}
	if n := refName(tree, "pipeline", "pipelineReference"); n != "" {
		out = append(out, n)
	}
	return out
}

// refName follows path through nested objects and returns the referenceName there.
func refName(m map[string]any, path ...string) string {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return ""
		}
		m = next
	}
	s, _ := m["referenceName"].(string)
	return s
}

// Put creates or replaces a pipeline or trigger from a.Body (a PUT: running it twice
// is harmless). A trigger is created stopped, as Data Factory creates triggers, and
// an existing one is updated only while stopped: a started trigger is refused with
// drerr.Conflict wrapping ErrTriggerStarted, nothing written, and the caller decides
// whether to Stop it (only a standby that does not serve) and put again. A body
// holding a secure string is refused with drerr.Invalid wrapping ErrSecureString.
func (p *Pipelines) Put(ctx context.Context, a drift.Artifact) error {
	op := fmt.Sprintf("put %s %s of %s", a.Kind, a.Name, p.name)
	if a.Name == "" || len(a.Body) == 0 {
		return drerr.Errorf(drerr.Invalid, op, "an artifact needs a name and a body")
	}
	if bytes.Contains(a.Body, []byte(`"SecureString"`)) {
		return drerr.E(drerr.Invalid, op, fmt.Errorf("%w: set it on this side by hand, or refer to a Key Vault secret", ErrSecureString))
	}
	body := a.Body
	if own, _ := json.Marshal(OwnRuntime); bytes.Contains(body, own) {
		if p.runtime == "" {
			return drerr.Errorf(drerr.Invalid, op, "the body refers to the other side's SSIS runtime: name this factory's (UseRuntime)")
		}
		ir, _ := json.Marshal(p.runtime) // a string always marshals
		body = bytes.ReplaceAll(body, own, ir)
	}
	// The SDK's resource types read polymorphic properties (activities, trigger
	// types) through their own UnmarshalJSON.
	wrapped := append(append([]byte(`{"properties":`), body...), '}')
	switch a.Kind {
	case drift.Pipeline:
		var r armdatafactory.PipelineResource
		if err := json.Unmarshal(wrapped, &r); err != nil || r.Properties == nil {
			return drerr.Errorf(drerr.Invalid, op, "body is not a pipeline: %v", err)
		}
		_, err := p.pipelines.CreateOrUpdate(ctx, p.group, p.name, a.Name, r, nil)
		return azerr.Wrap(op, err)
	case drift.Trigger:
		var r armdatafactory.TriggerResource
		if err := json.Unmarshal(wrapped, &r); err != nil || r.Properties == nil {
			return drerr.Errorf(drerr.Invalid, op, "body is not a trigger: %v", err)
		}
		if err := p.stopped(ctx, op, a.Name); err != nil {
			return err
		}
		_, err := p.triggers.CreateOrUpdate(ctx, p.group, p.name, a.Name, r, nil)
		return azerr.Wrap(op, err)
	}
	return drerr.Errorf(drerr.Invalid, op, "a data factory's artifacts here are pipelines and triggers, not %ss", a.Kind)
}

// stopped is nil when trigger name is not there or not started.
func (p *Pipelines) stopped(ctx context.Context, op, name string) error {
	resp, err := p.triggers.Get(ctx, p.group, p.name, name, nil)
	if err = azerr.Wrap(op, err); drerr.Is(err, drerr.NotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if resp.Properties != nil {
		if t := resp.Properties.GetTrigger(); t != nil && t.RuntimeState != nil && *t.RuntimeState == armdatafactory.TriggerRuntimeStateStarted {
			return drerr.E(drerr.Conflict, op, ErrTriggerStarted)
		}
	}
	return nil
}

// Delete deletes a pipeline or trigger; one that is not there counts as deleted. A
// started trigger is refused as in Put.
func (p *Pipelines) Delete(ctx context.Context, kind drift.Kind, name string) error {
	op := fmt.Sprintf("delete %s %s of %s", kind, name, p.name)
	var err error
	switch kind {
	case drift.Pipeline:
		_, err = p.pipelines.Delete(ctx, p.group, p.name, name, nil)
	case drift.Trigger:
		if err := p.stopped(ctx, op, name); err != nil {
			return err
		}
		_, err = p.triggers.Delete(ctx, p.group, p.name, name, nil)
	default:
		return drerr.Errorf(drerr.Invalid, op, "a data factory's artifacts here are pipelines and triggers, not %ss", kind)
	}
	if err = azerr.Wrap(op, err); drerr.Is(err, drerr.NotFound) {
		return nil
	}
	return err
}

// Stop stops a started trigger and waits for Data Factory to say it is stopped; a
// stopped one is left so. Other kinds are drerr.Invalid: only triggers run.
func (p *Pipelines) Stop(ctx context.Context, kind drift.Kind, name string) error {
	op := fmt.Sprintf("stop %s %s of %s", kind, name, p.name)
	if kind != drift.Trigger {
		return drerr.Errorf(drerr.Invalid, op, "only triggers are stopped; a %s does not run by itself", kind)
	}
	poller, err := p.triggers.BeginStop(ctx, p.group, p.name, name, nil)
	return wait(ctx, op, poller, err, p.triggerWait)
}
