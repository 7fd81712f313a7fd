// Package datafactory starts and stops a data factory's integration runtimes and
// triggers through ARM (armdatafactory). It is the only package that touches
// armdatafactory.
package datafactory

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"

	"integration-dr/azure/azerr"
	"integration-dr/azure/lro"
	"integration-dr/drerr"
	"integration-dr/ssis"
)

// triggerWait is how long SetTrigger waits between looks at a start or stop that did
// not finish in its first answer (ADF answers 200 at once, so this is the rare path).
const triggerWait = 2 * time.Second

// Factory is one data factory, Microsoft.DataFactory/factories.
type Factory struct {
	runtimes *armdatafactory.IntegrationRuntimesClient
	triggers *armdatafactory.TriggersClient
	// endpoint is the ARM endpoint the clients call, which a resume token must poll.
	endpoint    *url.URL
	group       string
	name        string
	triggerWait time.Duration
}

var _ ssis.Factory = (*Factory)(nil)

// New returns the data factory named by its ARM resource ID.
func New(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Factory, error) {
	id, err := ParseFactoryID(resourceID)
	if err != nil {
		return nil, err
	}
	const op = "data factory client"
	f := &Factory{group: id.ResourceGroupName, name: id.Name, triggerWait: triggerWait}
	if f.runtimes, err = armdatafactory.NewIntegrationRuntimesClient(id.SubscriptionID, cred, opts); err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	if f.triggers, err = armdatafactory.NewTriggersClient(id.SubscriptionID, cred, opts); err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	// A bare client resolves the endpoint exactly as the generated ones do.
	raw, err := arm.NewClient("armdatafactory", "v9.1.0", cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	if f.endpoint, err = url.Parse(raw.Endpoint()); err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	return f, nil
}

// ParseFactoryID checks that resourceID names a data factory:
// /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.DataFactory/factories/{f}.
func ParseFactoryID(resourceID string) (*arm.ResourceID, error) {
	const op = "parse data factory id"
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q: %v", resourceID, err)
	}
	if !strings.EqualFold(id.ResourceType.String(), "Microsoft.DataFactory/factories") {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q is a %s, not Microsoft.DataFactory/factories", resourceID, id.ResourceType)
	}
	// ParseResourceID accepts a path that stops at the collection or skips the
	// resource group; neither names a factory.
	if id.ResourceGroupName == "" || id.Name == "" {
		return nil, drerr.Errorf(drerr.Invalid, op, "%q lacks a resource group or factory name", resourceID)
	}
	return id, nil
}

// Name is the data factory's name.
func (f *Factory) Name() string { return f.name }

// IRState reads integration runtime ir's state: ssis.IRStarted, ssis.IRStopped, ...;
// drerr.NotFound if it does not exist.
func (f *Factory) IRState(ctx context.Context, ir string) (string, error) {
	op := fmt.Sprintf("get status of integration runtime %s of %s", ir, f.name)
	resp, err := f.runtimes.GetStatus(ctx, f.group, f.name, ir, nil)
	if err != nil {
		return "", azerr.Wrap(op, err)
	}
	if resp.Properties == nil {
		return "", drerr.Errorf(drerr.Internal, op, "no status in the answer")
	}
	st := resp.Properties.GetIntegrationRuntimeStatus()
	if st == nil || st.State == nil {
		return "", drerr.Errorf(drerr.Internal, op, "no state in the answer")
	}
	return string(*st.State), nil
}

// BeginIR starts (start) or stops integration runtime ir and returns at ADF's first
// answer, never waiting for the operation (a start takes minutes): "" when that answer
// was final, else a resume token for PollIR on any Factory.
func (f *Factory) BeginIR(ctx context.Context, ir string, start bool) (string, error) {
	op := fmt.Sprintf("%s integration runtime %s of %s", verbOf(start), ir, f.name)
	if start {
		p, err := f.runtimes.BeginStart(ctx, f.group, f.name, ir, nil)
		return lro.Started(ctx, op, verbStart, p, err)
	}
	p, err := f.runtimes.BeginStop(ctx, f.group, f.name, ir, nil)
	return lro.Started(ctx, op, verbStop, p, err)
}

// PollIR looks once at the start or stop a BeginIR token stands for: done once it
// finished, with an error if it failed. A token this adapter cannot resume (not its
// format, or polling another host) is drerr.Invalid.
func (f *Factory) PollIR(ctx context.Context, token string) (bool, error) {
	op := "poll integration runtime operation of " + f.name
	verb, sdk, err := lro.SplitToken(op, token, f.endpoint, verbStart, verbStop)
	if err != nil {
		return false, err
	}
	// Resuming reads everything from the token; the names are not sent.
	if verb == verbStart {
		p, err := f.runtimes.BeginStart(ctx, f.group, f.name, "", &armdatafactory.IntegrationRuntimesClientBeginStartOptions{ResumeToken: sdk})
		return lro.PollOnce(ctx, op, p, err)
	}
	p, err := f.runtimes.BeginStop(ctx, f.group, f.name, "", &armdatafactory.IntegrationRuntimesClientBeginStopOptions{ResumeToken: sdk})
	return lro.PollOnce(ctx, op, p, err)
}

// Triggers lists the factory's triggers, following every page. Annotations that are
// not strings are left out; a trigger without a name is left out.
func (f *Factory) Triggers(ctx context.Context) ([]ssis.Trigger, error) {
	var out []ssis.Trigger
	pager := f.triggers.NewListByFactoryPager(f.group, f.name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Wrap("list triggers of "+f.name, err)
		}
		for _, r := range page.Value {
			if r == nil || r.Name == nil {
				continue
			}
			t := ssis.Trigger{Name: *r.Name}
			if r.Properties != nil {
				if p := r.Properties.GetTrigger(); p != nil {
					if p.RuntimeState != nil {
						t.State = string(*p.RuntimeState)
					}
					for _, a := range p.Annotations {
						if s, ok := a.(string); ok {
							t.Annotations = append(t.Annotations, s)
						}
					}
				}
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// SetTrigger starts or stops trigger name. ADF answers 200 once the change took
// effect; should an answer say otherwise, it looks again every triggerWait until the
// change is done or ctx ends.
func (f *Factory) SetTrigger(ctx context.Context, name string, start bool) error {
	op := fmt.Sprintf("%s trigger %s of %s", verbOf(start), name, f.name)
	if start {
		p, err := f.triggers.BeginStart(ctx, f.group, f.name, name, nil)
		return wait(ctx, op, p, err, f.triggerWait)
	}
	p, err := f.triggers.BeginStop(ctx, f.group, f.name, name, nil)
	return wait(ctx, op, p, err, f.triggerWait)
}

// wait polls p every interval until it is done or ctx ends, and surfaces its result.
// It loops Poll itself because PollUntilDone refuses intervals under a second.
func wait[T any](ctx context.Context, op string, p *runtime.Poller[T], err error, interval time.Duration) error {
	if err != nil {
		return azerr.Wrap(op, err)
	}
	for !p.Done() {
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return azerr.Wrap(op, ctx.Err())
		case <-t.C:
		}
		if _, err := p.Poll(ctx); err != nil {
			return azerr.Wrap(op, err)
		}
	}
	_, err = p.Result(ctx)
	return azerr.Wrap(op, err)
}

func verbOf(start bool) string {
	if start {
		return verbStart
	}
	return verbStop
}
