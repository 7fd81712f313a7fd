package routing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cdn/armcdn"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
)

// pollEvery is how often an origin update is polled when ARM sends no Retry-After
// (azcore's floor outside tests is one second; it defaults to thirty).
const pollEvery = 2 * time.Second

// FrontDoorOrigin is one side's origin in an Azure Front Door (Standard/Premium)
// origin group. Disabling it stops Front Door sending requests to it; the origin
// and its settings stay, so enabling it again is the whole undo.
type FrontDoorOrigin struct {
	client                      *armcdn.AFDOriginsClient
	group, profile, originGroup string
	name                        string
}

// NewFrontDoorOrigin returns the origin named by its ARM resource ID:
// .../providers/Microsoft.Cdn/profiles/{profile}/originGroups/{group}/origins/{name}.
func NewFrontDoorOrigin(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*FrontDoorOrigin, error) {
	id, err := parseFrontDoorID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armcdn.NewAFDOriginsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "front door origins client", err)
	}
	return &FrontDoorOrigin{client: c, group: id.ResourceGroupName, profile: id.Parent.Parent.Name, originGroup: id.Parent.Name, name: id.Name}, nil
}

// Name is "afd {profile}/{origin group}/{origin}".
func (o *FrontDoorOrigin) Name() string {
	return "afd " + o.profile + "/" + o.originGroup + "/" + o.name
}

// State reads the origin: whether it is enabled and its host name. Front Door reports
// no health per origin through ARM, so Health is "". drerr.NotFound if the profile,
// origin group or origin does not exist.
func (o *FrontDoorOrigin) State(ctx context.Context) (State, error) {
	resp, err := o.client.Get(ctx, o.group, o.profile, o.originGroup, o.name, nil)
	if err != nil {
		return State{}, azerr.Wrap("get "+o.Name(), err)
	}
	p := resp.Properties
	if p == nil || p.EnabledState == nil {
		return State{}, drerr.Errorf(drerr.Internal, "get "+o.Name(), "%s reports no enabled state", o.Name())
	}
	st := State{Enabled: strings.EqualFold(string(*p.EnabledState), string(armcdn.EnabledStateEnabled))}
	if p.HostName != nil {
		st.Target = *p.HostName
	}
	return st, nil
}

// Enable lets Front Door send requests to the origin again. An enabled origin is left
// alone.
func (o *FrontDoorOrigin) Enable(ctx context.Context) error { return o.set(ctx, true) }

// Disable stops Front Door sending requests to the origin. A disabled origin is left
// alone.
func (o *FrontDoorOrigin) Disable(ctx context.Context) error { return o.set(ctx, false) }

// set patches the origin's enabled state and waits for the long-running update to
// finish, within ctx: a switch is done when Front Door has taken it, not when ARM has
// accepted it. A ctx that ends first reports drerr.Interrupted; the update may still
// land, and the next call reads where it stands.
func (o *FrontDoorOrigin) set(ctx context.Context, enable bool) error {
	state := armcdn.EnabledStateDisabled
	if enable {
		state = armcdn.EnabledStateEnabled
	}
	op := fmt.Sprintf("%s %s", verb(enable), o.Name())
	return converge(ctx, op, enable, o.State, func(ctx context.Context) error {
		poller, err := o.client.BeginUpdate(ctx, o.group, o.profile, o.originGroup, o.name, armcdn.AFDOriginUpdateParameters{
			Properties: &armcdn.AFDOriginUpdatePropertiesParameters{EnabledState: to.Ptr(state)},
		}, nil)
		if err != nil {
			return err
		}
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: pollEvery})
		return err
	})
}
