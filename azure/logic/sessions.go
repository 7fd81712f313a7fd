// Package logic reads and writes integration account sessions through
// ARM (armlogic). It is the only package that touches armlogic.
package logic

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/replication"
	"integration-dr/session"
)

// Account is one integration account's sessions.
type Account struct {
	sessions *armlogic.IntegrationAccountSessionsClient
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
	return &Account{sessions: c, group: id.ResourceGroupName, name: id.Name, pageSize: pageSize}, nil
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

// ListChanged pages through sessions changed at or after since.
func (a *Account) ListChanged(ctx context.Context, since time.Time, page func([]session.Session) error) error {
	opts := &armlogic.IntegrationAccountSessionsClientListOptions{}
	if a.pageSize > 0 {
		opts.Top = &a.pageSize
	}
	if !since.IsZero() {
		f := FilterSince(since)
		opts.Filter = &f
	}
	pager := a.sessions.NewListPager(a.group, a.name, opts)
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return azerr.Wrap("list sessions of "+a.name, err)
		}
		out := make([]session.Session, 0, len(resp.Value))
		for _, s := range resp.Value {
			if conv, ok := fromARM(s); ok {
				out = append(out, conv)
			}
		}
		if err := page(out); err != nil {
			return err
		}
	}
	return nil
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
