// Package logic reads and writes integration account sessions through
// ARM (armlogic). It is the only package that touches armlogic.
package logic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/session"
)

// Account is one integration account's sessions.
type Account struct {
	sessions *armlogic.IntegrationAccountSessionsClient
	// pipeline sends the requests the generated client cannot: resuming a listing
	// at a saved nextLink, exactly as its pager does for the next page.
	pipeline runtime.Pipeline
	endpoint *url.URL
	group    string
	name     string
	pageSize int32
}

var _ replication.Account = (*Account)(nil)

// New returns the account named by its ARM resource ID. pageSize is sent as $top.
func New(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions, pageSize int32) (*Account, error) {
	id, err := ParseID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armlogic.NewIntegrationAccountSessionsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "integration account client", err)
	}
	raw, err := arm.NewClient("armlogic", "v1.2.0", cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "integration account client", err)
	}
	endpoint, err := url.Parse(raw.Endpoint())
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "integration account client", err)
	}
	return &Account{sessions: c, pipeline: raw.Pipeline(), endpoint: endpoint, group: id.ResourceGroupName, name: id.Name, pageSize: pageSize}, nil
}

// ParseID checks that resourceID names an integration account.
func ParseID(resourceID string) (*arm.ResourceID, error) {
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return nil, drerr.Errorf(drerr.Invalid, "parse integration account id", "%q: %v", resourceID, err)
	}
	if !strings.EqualFold(id.ResourceType.String(), "Microsoft.Logic/integrationAccounts") {
		return nil, drerr.Errorf(drerr.Invalid, "parse integration account id", "%q is a %s, not Microsoft.Logic/integrationAccounts", resourceID, id.ResourceType)
	}
	return id, nil
}

// FilterSince is the $filter sent for changes at or after t. The spec names the
// ChangedTime field but not the operator syntax, so the engine filters again.
func FilterSince(t time.Time) string {
	return "ChangedTime ge " + t.UTC().Format(time.RFC3339Nano)
}

// List pages through sessions changed at or after since, from the first page or from
// a nextLink an earlier listing returned. Each page carries the response's Date.
func (a *Account) List(ctx context.Context, since time.Time, cursor string, page func(replication.Page) error) error {
	next := cursor
	if next == "" {
		opts := &armlogic.IntegrationAccountSessionsClientListOptions{}
		if a.pageSize > 0 {
			opts.Top = &a.pageSize
		}
		if !since.IsZero() {
			f := FilterSince(since)
			opts.Filter = &f
		}
		var raw *http.Response
		resp, err := a.sessions.NewListPager(a.group, a.name, opts).NextPage(policy.WithCaptureResponse(ctx, &raw))
		if err != nil {
			return azerr.Wrap("list sessions of "+a.name, err)
		}
		if next, err = a.deliver(resp.IntegrationAccountSessionListResult, raw, page); err != nil || next == "" {
			return err
		}
	}
	for next != "" {
		result, raw, err := a.fetch(ctx, next)
		if err != nil {
			return err
		}
		if next, err = a.deliver(result, raw, page); err != nil {
			return err
		}
	}
	return nil
}

// fetch GETs a nextLink through the client's pipeline (credential, retries), as the
// generated pager does. The link must point at the configured ARM endpoint: a cursor
// read back from storage must not send our token anywhere else.
func (a *Account) fetch(ctx context.Context, link string) (armlogic.IntegrationAccountSessionListResult, *http.Response, error) {
	var out armlogic.IntegrationAccountSessionListResult
	u, err := url.Parse(link)
	if err != nil || !strings.EqualFold(u.Scheme, a.endpoint.Scheme) || !strings.EqualFold(u.Host, a.endpoint.Host) {
		return out, nil, drerr.Errorf(drerr.Invalid, "resume listing of "+a.name, "cursor %q is not a link on %s", link, a.endpoint.Host)
	}
	ctx = context.WithValue(ctx, runtime.CtxAPINameKey{}, "IntegrationAccountSessionsClient.NewListPager")
	resp, err := runtime.FetcherForNextLink(ctx, a.pipeline, link, nil, nil)
	if err != nil {
		return out, nil, azerr.Wrap("list sessions of "+a.name, err)
	}
	if err := runtime.UnmarshalAsJSON(resp, &out); err != nil {
		return out, nil, drerr.E(drerr.Internal, "list sessions of "+a.name, err)
	}
	return out, resp, nil
}

func (a *Account) deliver(result armlogic.IntegrationAccountSessionListResult, raw *http.Response, page func(replication.Page) error) (string, error) {
	pg := replication.Page{Sessions: make([]session.Session, 0, len(result.Value))}
	for _, s := range result.Value {
		if conv, ok := fromARM(s); ok {
			pg.Sessions = append(pg.Sessions, conv)
		}
	}
	if raw != nil {
		if d, err := http.ParseTime(raw.Header.Get("Date")); err == nil {
			pg.Date = d.UTC()
		}
	}
	if result.NextLink != nil {
		pg.Next = *result.NextLink
	}
	return pg.Next, page(pg)
}

// Get reads one session; drerr.NotFound if it does not exist.
func (a *Account) Get(ctx context.Context, name string) (session.Session, error) {
	resp, err := a.sessions.Get(ctx, a.group, a.name, name, nil)
	if err != nil {
		return session.Session{}, azerr.Wrap(fmt.Sprintf("get session %s of %s", name, a.name), err)
	}
	s, ok := fromARM(&resp.IntegrationAccountSession)
	if !ok {
		return session.Session{}, drerr.Errorf(drerr.Internal, "get session", "session %s of %s has no properties", name, a.name)
	}
	return s, nil
}

// Put creates or replaces a session with s's content.
func (a *Account) Put(ctx context.Context, s session.Session) error {
	body := armlogic.IntegrationAccountSession{Properties: &armlogic.IntegrationAccountSessionProperties{Content: s.Content}}
	_, err := a.sessions.CreateOrUpdate(ctx, a.group, a.name, s.Name, body, nil)
	return azerr.Wrap(fmt.Sprintf("put session %s of %s", s.Name, a.name), err)
}

func fromARM(s *armlogic.IntegrationAccountSession) (session.Session, bool) {
	if s == nil || s.Name == nil || s.Properties == nil {
		return session.Session{}, false
	}
	out := session.Session{Name: *s.Name}
	if s.Properties.ChangedTime != nil {
		out.ChangedTime = s.Properties.ChangedTime.UTC()
	}
	raw, err := json.Marshal(s.Properties.Content)
	if err != nil {
		return session.Session{}, false
	}
	out.Content = raw
	return out, true
}
