package logic

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// Workflow states as Logic Apps reports them (Workflow.Properties.State).
const (
	WorkflowEnabled  = string(armlogic.WorkflowStateEnabled)
	WorkflowDisabled = string(armlogic.WorkflowStateDisabled)
)

// Workflow is one Logic Apps (Consumption) workflow, Microsoft.Logic/workflows: the
// intake that a failover fences by disabling it.
type Workflow struct {
	client *armlogic.WorkflowsClient
	group  string
	name   string
}

// NewWorkflow returns the workflow named by its ARM resource ID.
func NewWorkflow(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Workflow, error) {
	id, err := ParseWorkflowID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armlogic.NewWorkflowsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "workflow client", err)
	}
	return &Workflow{client: c, group: id.ResourceGroupName, name: id.Name}, nil
}

// ParseWorkflowID checks that resourceID names a Logic Apps workflow. Standard logic
// apps' workflows (Microsoft.Web/sites/workflows) are refused: ARM has no enable or
// disable operation for them; StandardWorkflow (ParseStandardWorkflowID) switches them
// through their app's settings.
func ParseWorkflowID(resourceID string) (*arm.ResourceID, error) {
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return nil, drerr.Errorf(drerr.Invalid, "parse workflow id", "%q: %v", resourceID, err)
	}
	if !strings.EqualFold(id.ResourceType.String(), "Microsoft.Logic/workflows") {
		return nil, drerr.Errorf(drerr.Invalid, "parse workflow id", "%q is a %s, not Microsoft.Logic/workflows", resourceID, id.ResourceType)
	}
	return id, nil
}

// Name is the workflow's name.
func (w *Workflow) Name() string { return w.name }

// State reads the workflow's state: "Enabled", "Disabled", "Suspended", ...;
// drerr.NotFound if the workflow does not exist.
func (w *Workflow) State(ctx context.Context) (string, error) {
	resp, err := w.client.Get(ctx, w.group, w.name, nil)
	if err != nil {
		return "", azerr.Wrap("get workflow "+w.name, err)
	}
	if resp.Properties == nil || resp.Properties.State == nil {
		return "", drerr.Errorf(drerr.Internal, "get workflow", "workflow %s reports no state", w.name)
	}
	return string(*resp.Properties.State), nil
}

// Enable makes the workflow Enabled. An enabled workflow is left alone.
func (w *Workflow) Enable(ctx context.Context) error {
	return w.set(ctx, WorkflowEnabled, func() error {
		_, err := w.client.Enable(ctx, w.group, w.name, nil)
		return err
	})
}

// Disable makes the workflow Disabled. A disabled workflow is left alone.
func (w *Workflow) Disable(ctx context.Context) error {
	return w.set(ctx, WorkflowDisabled, func() error {
		_, err := w.client.Disable(ctx, w.group, w.name, nil)
		return err
	})
}

// set is idempotent from the caller's view. It reads the state first and posts only
// when the workflow is not already in the wanted one: the public sources do not say
// whether Logic Apps accepts enabling an enabled workflow, and a read is cheaper than
// a write under ARM's limits. Where the post fails anyway (a concurrent change, or a
// service that refuses the no-op), the state is read again and a workflow already in
// the wanted state counts as success.
func (w *Workflow) set(ctx context.Context, want string, post func() error) error {
	op := fmt.Sprintf("%s workflow %s", verb(want), w.name)
	state, err := w.State(ctx)
	if err != nil {
		return err
	}
	if strings.EqualFold(state, want) {
		return nil
	}
	if perr := post(); perr != nil {
		if state, err := w.State(ctx); err == nil && strings.EqualFold(state, want) {
			return nil
		}
		return azerr.Wrap(op, perr)
	}
	return nil
}

func verb(state string) string {
	if state == WorkflowEnabled {
		return "enable"
	}
	return "disable"
}
