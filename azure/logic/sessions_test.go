package logic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/session"
)

const accountID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.Logic/integrationAccounts/contoso-ia-weu"

// onFake builds an adapter on one of the SDK's fake server transports, without retries.
func onFake[T any](t *testing.T, tr policy.Transporter, build func(azcore.TokenCredential, *arm.ClientOptions) (T, error)) T {
	t.Helper()
	v, err := build(&azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newAccount(t *testing.T, srv *fake.IntegrationAccountSessionsServer) *logic.Account {
	t.Helper()
	return onFake(t, fake.NewIntegrationAccountSessionsServerTransport(srv), func(c azcore.TokenCredential, o *arm.ClientOptions) (*logic.Account, error) {
		return logic.New(accountID, c, o, 2)
	})
}

func armSession(name string, changed time.Time) *armlogic.IntegrationAccountSession {
	return &armlogic.IntegrationAccountSession{Name: to.Ptr(name), Properties: &armlogic.IntegrationAccountSessionProperties{
		ChangedTime: to.Ptr(changed), Content: map[string]any{"ControlNumber": "7"},
	}}
}

func TestListSendsTheFilterAndFollowsEveryPage(t *testing.T) {
	since := time.Date(2026, 11, 20, 9, 0, 0, 500, time.UTC)
	var gotFilter string
	var gotTop int32
	srv := &fake.IntegrationAccountSessionsServer{
		NewListPager: func(group, acct string, opts *armlogic.IntegrationAccountSessionsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountSessionsClientListResponse]) {
			gotFilter, gotTop = *opts.Filter, *opts.Top
			for p := range 3 {
				resp.AddPage(http.StatusOK, armlogic.IntegrationAccountSessionsClientListResponse{IntegrationAccountSessionListResult: armlogic.IntegrationAccountSessionListResult{
					Value: []*armlogic.IntegrationAccountSession{armSession(fmt.Sprintf("s%d-X12-Icn", p), since), {Name: to.Ptr("no-properties")}},
				}}, nil)
			}
			return
		},
	}
	var names []string
	err := newAccount(t, srv).List(context.Background(), since, "", func(page replication.Page) error {
		for _, s := range page.Sessions {
			names = append(names, s.Name)
			if !json.Valid(s.Content) || !s.ChangedTime.Equal(since) {
				t.Errorf("session %s: content %s, changed %v", s.Name, s.Content, s.ChangedTime)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotFilter != "ChangedTime ge 2026-11-20T09:00:00.0000005Z" || gotTop != 2 {
		t.Errorf("sent $filter %q and $top %d", gotFilter, gotTop)
	}
	if len(names) != 3 {
		t.Errorf("listed %v, want one session from each of the three pages (and none without properties)", names)
	}
}

func TestErrorsBecomeDomainCodes(t *testing.T) {
	tests := []struct {
		status int
		code   string
		want   drerr.Code
	}{
		{http.StatusNotFound, "IntegrationAccountSessionNotFound", drerr.NotFound},
		{http.StatusTooManyRequests, "TooManyRequests", drerr.Throttled},
		{http.StatusConflict, "Conflict", drerr.Conflict},
		{http.StatusBadRequest, "InvalidRequestContent", drerr.Invalid},
		{http.StatusServiceUnavailable, "ServiceUnavailable", drerr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			srv := &fake.IntegrationAccountSessionsServer{
				Get: func(context.Context, string, string, string, *armlogic.IntegrationAccountSessionsClientGetOptions) (resp azfake.Responder[armlogic.IntegrationAccountSessionsClientGetResponse], errResp azfake.ErrorResponder) {
					errResp.SetResponseError(tt.status, tt.code)
					return
				},
			}
			_, err := newAccount(t, srv).Get(context.Background(), "s-X12-Icn")
			if got := drerr.CodeOf(err); got != tt.want {
				t.Fatalf("%d %s became %s, want %s (%v)", tt.status, tt.code, got, tt.want, err)
			}
		})
	}
}

func TestPutWritesTheContentAsIs(t *testing.T) {
	var got any
	srv := &fake.IntegrationAccountSessionsServer{
		CreateOrUpdate: func(_ context.Context, _, _, name string, body armlogic.IntegrationAccountSession, _ *armlogic.IntegrationAccountSessionsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountSessionsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			got = body.Properties.Content
			resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountSessionsClientCreateOrUpdateResponse{IntegrationAccountSession: body}, nil)
			return
		},
	}
	content := json.RawMessage(`{"ControlNumber":"000000042","ControlNumberChangedTime":"2026-11-20T09:00:00.1234567Z","Custom":{"x":[1,2]}}`)
	if err := newAccount(t, srv).Put(context.Background(), session.Session{Name: "A-X12-Icn", Content: content}); err != nil {
		t.Fatal(err)
	}
	sent, _ := json.Marshal(got)
	if !session.EqualContent(sent, content) {
		t.Fatalf("sent %s, want %s", sent, content)
	}
}

func TestNewRefusesWhatIsNotAnIntegrationAccount(t *testing.T) {
	for _, id := range []string{"", "not-an-id", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app"} {
		if _, err := logic.New(id, &azfake.TokenCredential{}, nil, 10); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("New(%q): %v, want an invalid-input error", id, err)
		}
	}
}

func TestACursorForAnotherHostIsRefusedBeforeAnyRequest(t *testing.T) {
	called := false
	srv := &fake.IntegrationAccountSessionsServer{
		NewListPager: func(string, string, *armlogic.IntegrationAccountSessionsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountSessionsClientListResponse]) {
			called = true
			return
		},
	}
	err := newAccount(t, srv).List(context.Background(), time.Time{}, "https://attacker.example/steal?token=1", func(replication.Page) error { return nil })
	if !drerr.Is(err, drerr.Invalid) || called {
		t.Fatalf("foreign cursor: err %v (code %s), request sent %v; want an invalid-cursor error and no request", err, drerr.CodeOf(err), called)
	}
}
