package routing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/cdn/armcdn"

	"integration-dr/azure/routing"
	"integration-dr/drerr"
)

const afdID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-global/providers/Microsoft.Cdn/profiles/contoso-afd/originGroups/as2/origins/weu"

// frontDoor is a fake Front Door origin behind ARM, served as a transport: armcdn
// v1.1.1 ships no fake package. An update is ARM's Azure-AsyncOperation long-running
// operation: the PATCH answers 202 with a status URL, the status answers InProgress
// until polled pollsToComplete times, then the change takes effect and it answers
// Succeeded (or Failed, with fail set); the client then reads the origin.
type frontDoor struct {
	exists          bool
	enabled         armcdn.EnabledState
	host            string
	pollsToComplete int
	fail            bool

	pending   *armcdn.EnabledState
	patches   int
	polls     int
	patchBody string
}

const originPath = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-global/providers/Microsoft.Cdn/profiles/contoso-afd/originGroups/as2/origins/weu"

func (f *frontDoor) Do(req *http.Request) (*http.Response, error) {
	if got := req.URL.Query().Get("api-version"); got != "2021-06-01" {
		return f.answer(req, http.StatusBadRequest, nil, map[string]any{"error": map[string]string{"code": "InvalidApiVersionParameter", "message": got}})
	}
	switch {
	case req.URL.Path == originPath && req.Method == http.MethodGet:
		if !f.exists {
			return f.answer(req, http.StatusNotFound, nil, map[string]any{"error": map[string]string{"code": "NotFound", "message": "no origin"}})
		}
		o := armcdn.AFDOrigin{Name: to.Ptr("weu"), Properties: &armcdn.AFDOriginProperties{HostName: to.Ptr(f.host)}}
		if f.enabled != "" {
			o.Properties.EnabledState = to.Ptr(f.enabled)
		}
		return f.answer(req, http.StatusOK, nil, o)
	case req.URL.Path == originPath && req.Method == http.MethodPatch:
		f.patches++
		body, _ := io.ReadAll(req.Body)
		f.patchBody = string(body)
		var p armcdn.AFDOriginUpdateParameters
		if err := json.Unmarshal(body, &p); err != nil || p.Properties == nil || p.Properties.EnabledState == nil {
			return f.answer(req, http.StatusBadRequest, nil, map[string]any{"error": map[string]string{"code": "BadRequest", "message": "no enabledState"}})
		}
		if !f.exists {
			return f.answer(req, http.StatusNotFound, nil, map[string]any{"error": map[string]string{"code": "NotFound", "message": "no origin"}})
		}
		f.pending = p.Properties.EnabledState
		h := http.Header{}
		h.Set("Azure-AsyncOperation", "https://management.azure.com"+originPath+"/operationResults/1?api-version=2021-06-01")
		h.Set("x-ms-retry-after-ms", "1") // keeps the test fast; azcore honours it
		return f.answer(req, http.StatusAccepted, h, nil)
	case req.URL.Path == originPath+"/operationResults/1" && req.Method == http.MethodGet:
		f.polls++
		status := "InProgress"
		if f.polls >= f.pollsToComplete {
			status = "Succeeded"
			if f.fail {
				status = "Failed"
			} else if f.pending != nil {
				f.enabled, f.pending = *f.pending, nil
			}
		}
		h := http.Header{}
		h.Set("x-ms-retry-after-ms", "1")
		return f.answer(req, http.StatusOK, h, map[string]string{"status": status})
	}
	return f.answer(req, http.StatusNotFound, nil, map[string]any{"error": map[string]string{"code": "NoRoute", "message": req.Method + " " + req.URL.Path}})
}

func (f *frontDoor) answer(req *http.Request, status int, h http.Header, body any) (*http.Response, error) {
	if h == nil {
		h = http.Header{}
	}
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
		h.Set("Content-Type", "application/json")
	}
	if status >= 400 {
		var e struct{ Error struct{ Code string } }
		_ = json.Unmarshal(b, &e)
		h.Set("x-ms-error-code", e.Error.Code)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: req, ContentLength: int64(len(b))}, nil
}

func newOrigin(t *testing.T, f *frontDoor) *routing.FrontDoorOrigin {
	t.Helper()
	return onFake(t, f, func(c azcore.TokenCredential, o *arm.ClientOptions) (*routing.FrontDoorOrigin, error) {
		return routing.NewFrontDoorOrigin(afdID, c, o)
	})
}

func TestFrontDoorOriginRoundTrip(t *testing.T) {
	f := &frontDoor{exists: true, enabled: armcdn.EnabledStateEnabled, host: "contoso-as2-weu.azurewebsites.net", pollsToComplete: 3}
	o := newOrigin(t, f)
	ctx := context.Background()
	if o.Name() != "afd contoso-afd/as2/weu" {
		t.Errorf("Name %q", o.Name())
	}
	state := func(want routing.State) {
		t.Helper()
		if got, err := o.State(ctx); err != nil || got != want {
			t.Fatalf("state %+v, %v; want %+v", got, err, want)
		}
	}
	const host = "contoso-as2-weu.azurewebsites.net"
	state(routing.State{Enabled: true, Target: host})
	for range 2 {
		if err := o.Disable(ctx); err != nil {
			t.Fatalf("disable: %v", err)
		}
		// The change takes effect only as the operation completes: a Disable that
		// returned before polling it to the end would leave the origin enabled here.
		state(routing.State{Enabled: false, Target: host})
	}
	if f.polls != 3 {
		t.Errorf("%d polls, want the operation polled to completion (3)", f.polls)
	}
	for range 2 {
		if err := o.Enable(ctx); err != nil {
			t.Fatalf("enable: %v", err)
		}
		state(routing.State{Enabled: true, Target: host})
	}
	if f.patches != 2 {
		t.Errorf("%d patches, want one per actual change", f.patches)
	}
	// The PATCH sets the enabled state alone: host name, priority and weight stay.
	if f.patchBody != `{"properties":{"enabledState":"Enabled"}}` {
		t.Errorf("patch body %s", f.patchBody)
	}
}

func TestFrontDoorOriginErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("a missing origin is not found and nothing is written", func(t *testing.T) {
		f := &frontDoor{}
		o := newOrigin(t, f)
		if _, err := o.State(ctx); !drerr.Is(err, drerr.NotFound) {
			t.Errorf("State: %v (code %s), want not found", err, drerr.CodeOf(err))
		}
		for name, fn := range map[string]func(context.Context) error{"Enable": o.Enable, "Disable": o.Disable} {
			if err := fn(ctx); !drerr.Is(err, drerr.NotFound) {
				t.Errorf("%s: %v (code %s), want not found", name, err, drerr.CodeOf(err))
			}
		}
		if f.patches != 0 {
			t.Errorf("%d patches to a missing origin", f.patches)
		}
	})
	t.Run("an update that fails is an error and changes nothing", func(t *testing.T) {
		f := &frontDoor{exists: true, enabled: armcdn.EnabledStateEnabled, pollsToComplete: 2, fail: true}
		if err := newOrigin(t, f).Disable(ctx); err == nil {
			t.Fatal("disable whose operation failed: no error")
		}
		if f.enabled != armcdn.EnabledStateEnabled {
			t.Errorf("origin %s after a failed update", f.enabled)
		}
	})
	t.Run("an update still running when ctx ends is interrupted", func(t *testing.T) {
		f := &frontDoor{exists: true, enabled: armcdn.EnabledStateEnabled, pollsToComplete: 1 << 30}
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		err := newOrigin(t, f).Disable(ctx)
		if !drerr.Is(err, drerr.Interrupted) {
			t.Errorf("disable cut short: %v (code %s), want interrupted", err, drerr.CodeOf(err))
		}
		if f.polls == 0 {
			t.Error("the operation was never polled")
		}
	})
}

func TestFrontDoorOriginWithoutStateIsAnError(t *testing.T) {
	// A body without enabledState says nothing about the origin: no guess.
	f := &frontDoor{exists: true}
	if _, err := newOrigin(t, f).State(context.Background()); err == nil || !strings.Contains(err.Error(), "no enabled state") {
		t.Errorf("State: %v", err)
	}
}
