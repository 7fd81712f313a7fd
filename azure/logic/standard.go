package logic

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

const standardWorkflowShape = "/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/workflows/{name}"

// StandardWorkflow is one workflow of a Logic Apps Standard app,
// Microsoft.Web/sites/workflows. ARM has no enable or disable operation for it: the
// Logic Apps runtime reads the app setting Workflows.<name>.FlowState ("Enabled" or
// "Disabled"; absent means Enabled), so that is what this switches, through the
// app's settings (armappservice).
//
// Two things to know about that route:
//   - Changing an app setting restarts the app: every workflow of the app, not only
//     this one, stops and starts again, and runs in flight at that moment may be
//     cut off. Writes are therefore made only when the value differs.
//   - The settings PUT replaces the whole dictionary and takes no ETag. A change
//     someone else makes between our read and our write is lost. The settings are
//     read immediately before each write and every other setting is written back
//     exactly as read, which keeps that window to one round trip but cannot close it.
type StandardWorkflow struct {
	client *armappservice.WebAppsClient
	group  string
	app    string
	name   string
}

// NewStandardWorkflow returns the Standard workflow named by its ARM resource ID (see
// ParseStandardWorkflowID).
func NewStandardWorkflow(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*StandardWorkflow, error) {
	id, err := ParseStandardWorkflowID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armappservice.NewWebAppsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "web apps client", err)
	}
	return &StandardWorkflow{client: c, group: id.ResourceGroupName, app: id.Parent.Name, name: id.Name}, nil
}

// ParseStandardWorkflowID checks that resourceID names a workflow of a Logic Apps
// Standard app:
// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/workflows/{name}.
func ParseStandardWorkflowID(resourceID string) (*arm.ResourceID, error) {
	const op = "parse standard workflow id"
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q: %v; want %s", resourceID, err, standardWorkflowShape)
	}
	if !strings.EqualFold(id.ResourceType.String(), "Microsoft.Web/sites/workflows") {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q is a %s; want %s", resourceID, id.ResourceType, standardWorkflowShape)
	}
	// ParseResourceID accepts a path that stops at the collection or skips the
	// resource group; neither names a workflow.
	if id.SubscriptionID == "" || id.ResourceGroupName == "" || id.Parent == nil || id.Parent.Name == "" || id.Name == "" {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q lacks a subscription, resource group, app or name; want %s", resourceID, standardWorkflowShape)
	}
	return id, nil
}

// Name is "{app}/{workflow}".
func (w *StandardWorkflow) Name() string { return w.app + "/" + w.name }

// State reads the workflow's state from its app's settings: "Enabled" or "Disabled"
// (whatever the case it is written in), or the setting's value as it stands if it is
// neither; drerr.NotFound if the app does not exist.
func (w *StandardWorkflow) State(ctx context.Context) (string, error) {
	settings, err := w.settings(ctx)
	if err != nil {
		return "", err
	}
	return w.stateIn(settings), nil
}

// Enable makes the workflow Enabled. An enabled workflow is left alone, and its app
// is not restarted.
func (w *StandardWorkflow) Enable(ctx context.Context) error { return w.set(ctx, WorkflowEnabled) }

// Disable makes the workflow Disabled. A disabled workflow is left alone, and its app
// is not restarted.
func (w *StandardWorkflow) Disable(ctx context.Context) error { return w.set(ctx, WorkflowDisabled) }

func (w *StandardWorkflow) set(ctx context.Context, want string) error {
	op := fmt.Sprintf("%s standard workflow %s", verb(want), w.Name())
	settings, err := w.settings(ctx)
	if err != nil {
		return err
	}
	if w.stateIn(settings) == want {
		return nil
	}
	// Everything read goes back as read, nil values included; only this workflow's
	// setting changes, under the key it already has (keys differ only in case on
	// some hosts, and a second spelling would leave two settings that disagree).
	out := maps.Clone(settings)
	if out == nil {
		out = map[string]*string{}
	}
	k, _ := w.lookup(settings)
	out[k] = &want
	if _, perr := w.client.UpdateApplicationSettings(ctx, w.group, w.app, armappservice.StringDictionary{Properties: out}, nil); perr != nil {
		// As for Consumption workflows: a write that failed but finds the workflow
		// where it was wanted (another operator, a retried step) is success.
		if state, err := w.State(ctx); err == nil && state == want {
			return nil
		}
		return azerr.Wrap(op, perr)
	}
	return nil
}

// settings lists the app's settings.
func (w *StandardWorkflow) settings(ctx context.Context) (map[string]*string, error) {
	resp, err := w.client.ListApplicationSettings(ctx, w.group, w.app, nil)
	if err != nil {
		return nil, azerr.Wrap("list app settings of "+w.app, err)
	}
	return resp.Properties, nil
}

// key is the setting the Logic Apps runtime reads for this workflow.
func (w *StandardWorkflow) key() string { return "Workflows." + w.name + ".FlowState" }

// lookup finds this workflow's setting: under its exact key, else under one that
// differs only in case. It returns the key to write and the value, nil if none.
func (w *StandardWorkflow) lookup(settings map[string]*string) (string, *string) {
	k := w.key()
	if v, ok := settings[k]; ok {
		return k, v
	}
	for name, v := range settings {
		if strings.EqualFold(name, k) {
			return name, v
		}
	}
	return k, nil
}

func (w *StandardWorkflow) stateIn(settings map[string]*string) string {
	_, v := w.lookup(settings)
	switch {
	case v == nil || strings.TrimSpace(*v) == "" || strings.EqualFold(strings.TrimSpace(*v), WorkflowEnabled):
		return WorkflowEnabled // absent means enabled, as the runtime reads it
	case strings.EqualFold(strings.TrimSpace(*v), WorkflowDisabled):
		return WorkflowDisabled
	}
	return *v
}
