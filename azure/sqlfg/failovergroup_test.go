package sqlfg_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"

	"integration-dr/azure/sqlfg"
	"integration-dr/drerr"
	"integration-dr/ssis"
)

const (
	dbID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ssis-northeurope/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/ssis-fg"
	miID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ssis-northeurope/providers/Microsoft.Sql/locations/northeurope/instanceFailoverGroups/ssis-fg"
)

// sqlARM is a fake ARM for both kinds of failover group. It answers only for the
// names in dbID and miID, records each failover call as "<verb> <group>/<parent>/<name>",
// and answers each with nonTerminal in-progress responses, then the terminal one.
type sqlARM struct {
	db          armsql.FailoverGroupProperties
	mi          armsql.InstanceFailoverGroupProperties
	nonTerminal int
	// beginStatus, when set, refuses the failover call itself; failStatus fails the
	// operation once begun.
	beginStatus, failStatus int
	code                    string
	calls                   []string
}

func answer[T any](s *sqlARM, call string) (resp azfake.PollerResponder[T], errResp azfake.ErrorResponder) {
	s.calls = append(s.calls, call)
	if s.beginStatus != 0 {
		errResp.SetResponseError(s.beginStatus, s.code)
		return
	}
	for range s.nonTerminal {
		resp.AddNonTerminalResponse(http.StatusAccepted, nil)
	}
	if s.failStatus != 0 {
		resp.SetTerminalError(s.failStatus, s.code)
	} else {
		var done T
		resp.SetTerminalResponse(http.StatusOK, done, nil)
	}
	return
}

func (s *sqlARM) transport() policy.Transporter {
	known := func(group, parent, name, want string) bool {
		return group == "ssis-northeurope" && parent == want && name == "ssis-fg"
	}
	return fake.NewServerFactoryTransport(&fake.ServerFactory{
		FailoverGroupsServer: fake.FailoverGroupsServer{
			Get: func(_ context.Context, group, server, name string, _ *armsql.FailoverGroupsClientGetOptions) (resp azfake.Responder[armsql.FailoverGroupsClientGetResponse], errResp azfake.ErrorResponder) {
				if !known(group, server, name, "sql-neu") {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				resp.SetResponse(http.StatusOK, armsql.FailoverGroupsClientGetResponse{FailoverGroup: armsql.FailoverGroup{Name: to.Ptr(name), Properties: &s.db}}, nil)
				return
			},
			BeginFailover: func(_ context.Context, group, server, name string, _ *armsql.FailoverGroupsClientBeginFailoverOptions) (azfake.PollerResponder[armsql.FailoverGroupsClientFailoverResponse], azfake.ErrorResponder) {
				return answer[armsql.FailoverGroupsClientFailoverResponse](s, "planned "+group+"/"+server+"/"+name)
			},
			BeginForceFailoverAllowDataLoss: func(_ context.Context, group, server, name string, _ *armsql.FailoverGroupsClientBeginForceFailoverAllowDataLossOptions) (azfake.PollerResponder[armsql.FailoverGroupsClientForceFailoverAllowDataLossResponse], azfake.ErrorResponder) {
				return answer[armsql.FailoverGroupsClientForceFailoverAllowDataLossResponse](s, "force "+group+"/"+server+"/"+name)
			},
		},
		InstanceFailoverGroupsServer: fake.InstanceFailoverGroupsServer{
			Get: func(_ context.Context, group, location, name string, _ *armsql.InstanceFailoverGroupsClientGetOptions) (resp azfake.Responder[armsql.InstanceFailoverGroupsClientGetResponse], errResp azfake.ErrorResponder) {
				if !known(group, location, name, "northeurope") {
					errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
					return
				}
				resp.SetResponse(http.StatusOK, armsql.InstanceFailoverGroupsClientGetResponse{InstanceFailoverGroup: armsql.InstanceFailoverGroup{Name: to.Ptr(name), Properties: &s.mi}}, nil)
				return
			},
			BeginFailover: func(_ context.Context, group, location, name string, _ *armsql.InstanceFailoverGroupsClientBeginFailoverOptions) (azfake.PollerResponder[armsql.InstanceFailoverGroupsClientFailoverResponse], azfake.ErrorResponder) {
				return answer[armsql.InstanceFailoverGroupsClientFailoverResponse](s, "mi-planned "+group+"/"+location+"/"+name)
			},
			BeginForceFailoverAllowDataLoss: func(_ context.Context, group, location, name string, _ *armsql.InstanceFailoverGroupsClientBeginForceFailoverAllowDataLossOptions) (azfake.PollerResponder[armsql.InstanceFailoverGroupsClientForceFailoverAllowDataLossResponse], azfake.ErrorResponder) {
				return answer[armsql.InstanceFailoverGroupsClientForceFailoverAllowDataLossResponse](s, "mi-force "+group+"/"+location+"/"+name)
			},
		},
	})
}

// newFG builds an adapter on tr, without retries. Adapters built on one transport
// share the fake's record of operations in progress, as clients share ARM.
func newFG(t *testing.T, id string, tr policy.Transporter) *sqlfg.FailoverGroup {
	t.Helper()
	g, err := sqlfg.New(id, &azfake.TokenCredential{}, &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: tr, Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func dbRole(r string) *armsql.FailoverGroupReplicationRole {
	return to.Ptr(armsql.FailoverGroupReplicationRole(r))
}

func miRole(r string) *armsql.InstanceFailoverGroupReplicationRole {
	return to.Ptr(armsql.InstanceFailoverGroupReplicationRole(r))
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name          string
		id            string
		db            armsql.FailoverGroupProperties
		mi            armsql.InstanceFailoverGroupProperties
		self, partner ssis.Role
	}{
		{name: "database secondary, partner server primary", id: dbID,
			db:   armsql.FailoverGroupProperties{ReplicationRole: dbRole("Secondary"), PartnerServers: []*armsql.PartnerInfo{{ID: to.Ptr("sql-weu"), ReplicationRole: dbRole("Primary")}}},
			self: ssis.Secondary, partner: ssis.Primary},
		{name: "database roles in another case", id: dbID,
			db:   armsql.FailoverGroupProperties{ReplicationRole: dbRole("PRIMARY"), PartnerServers: []*armsql.PartnerInfo{nil, {ReplicationRole: dbRole("secondary")}}},
			self: ssis.Primary, partner: ssis.Secondary},
		{name: "database roles missing or unheard of", id: dbID,
			db:   armsql.FailoverGroupProperties{ReplicationRole: dbRole("Geo"), PartnerServers: []*armsql.PartnerInfo{{ID: to.Ptr("sql-weu")}}},
			self: ssis.Unknown, partner: ssis.Unknown},
		{name: "database without partners", id: dbID,
			db:   armsql.FailoverGroupProperties{ReplicationRole: dbRole("Primary")},
			self: ssis.Primary, partner: ssis.Unknown},
		{name: "database partners that disagree", id: dbID,
			db:   armsql.FailoverGroupProperties{ReplicationRole: dbRole("Secondary"), PartnerServers: []*armsql.PartnerInfo{{ReplicationRole: dbRole("Primary")}, {ReplicationRole: dbRole("Secondary")}}},
			self: ssis.Secondary, partner: ssis.Unknown},
		{name: "managed instance primary, partner region secondary", id: miID,
			mi:   armsql.InstanceFailoverGroupProperties{ReplicationRole: miRole("Primary"), PartnerRegions: []*armsql.PartnerRegionInfo{{Location: to.Ptr("westeurope"), ReplicationRole: miRole("Secondary")}}},
			self: ssis.Primary, partner: ssis.Secondary},
		{name: "managed instance secondary in lower case", id: miID,
			mi:   armsql.InstanceFailoverGroupProperties{ReplicationRole: miRole("secondary"), PartnerRegions: []*armsql.PartnerRegionInfo{{ReplicationRole: miRole("primary")}}},
			self: ssis.Secondary, partner: ssis.Primary},
		{name: "managed instance roles missing or unheard of", id: miID,
			mi:   armsql.InstanceFailoverGroupProperties{PartnerRegions: []*armsql.PartnerRegionInfo{{ReplicationRole: miRole("Forwarder")}}},
			self: ssis.Unknown, partner: ssis.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sqlARM{db: tt.db, mi: tt.mi}
			self, partner, err := newFG(t, tt.id, s.transport()).Roles(context.Background())
			if err != nil || self != tt.self || partner != tt.partner {
				t.Fatalf("Roles: %s, %s, %v; want %s, %s", self, partner, err, tt.self, tt.partner)
			}
		})
	}
}

func TestRolesOfAMissingGroupIsNotFound(t *testing.T) {
	for _, id := range []string{
		strings.Replace(dbID, "sql-neu", "sql-other", 1),
		strings.Replace(miID, "northeurope/", "westeurope/", 1),
	} {
		_, _, err := newFG(t, id, (&sqlARM{}).transport()).Roles(context.Background())
		if !drerr.Is(err, drerr.NotFound) {
			t.Errorf("%s: %v (code %s), want not found", id, err, drerr.CodeOf(err))
		}
	}
}

func TestFailoverCallsTheVerbOnThisSide(t *testing.T) {
	tests := []struct {
		id    string
		force bool
		want  string
	}{
		{dbID, false, "planned ssis-northeurope/sql-neu/ssis-fg"},
		{dbID, true, "force ssis-northeurope/sql-neu/ssis-fg"},
		{miID, false, "mi-planned ssis-northeurope/northeurope/ssis-fg"},
		{miID, true, "mi-force ssis-northeurope/northeurope/ssis-fg"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			s := &sqlARM{}
			token, err := newFG(t, tt.id, s.transport()).BeginFailover(context.Background(), tt.force)
			if err != nil || token != "" {
				t.Fatalf("BeginFailover answered at once: token %q, %v; want \"\", nil", token, err)
			}
			if len(s.calls) != 1 || s.calls[0] != tt.want {
				t.Fatalf("calls %q, want exactly %q", s.calls, tt.want)
			}
		})
	}
}

// A failover in progress resumes from its token on a new adapter, as after a restart,
// and is done once ARM's in-progress answers run out.
func TestFailoverResumesOnANewAdapter(t *testing.T) {
	tests := []struct {
		id     string
		force  bool
		prefix string
	}{
		{dbID, false, "planned:"},
		{dbID, true, "force:"},
		{miID, false, "planned:"},
		{miID, true, "force:"},
	}
	for _, tt := range tests {
		t.Run(tt.id[strings.LastIndex(tt.id, "providers/"):]+" "+tt.prefix, func(t *testing.T) {
			ctx := context.Background()
			// The first in-progress answer is the failover call's own.
			s := &sqlARM{nonTerminal: 3}
			tr := s.transport()
			token, err := newFG(t, tt.id, tr).BeginFailover(ctx, tt.force)
			if err != nil || !strings.HasPrefix(token, tt.prefix) {
				t.Fatalf("BeginFailover: token %q, %v; want one starting %q", token, err, tt.prefix)
			}
			later := newFG(t, tt.id, tr)
			for i := range 2 {
				if done, err := later.PollFailover(ctx, token); done || err != nil {
					t.Fatalf("poll %d: done %v, %v; want still in progress", i+1, done, err)
				}
			}
			if done, err := later.PollFailover(ctx, token); !done || err != nil {
				t.Fatalf("last poll: done %v, %v; want done", done, err)
			}
			if len(s.calls) != 1 {
				t.Errorf("calls %q: polling must not start another failover", s.calls)
			}
		})
	}
}

func TestFailedFailoverIsAnError(t *testing.T) {
	tests := []struct {
		name        string
		begin, fail int
		code        string
		want        drerr.Code
	}{
		{"refused at once", http.StatusNotFound, 0, "ResourceNotFound", drerr.NotFound},
		{"throttled at once", http.StatusTooManyRequests, 0, "TooManyRequests", drerr.Throttled},
		{"refused as invalid", http.StatusBadRequest, 0, "FailoverGroupFailoverOnPrimary", drerr.Invalid},
		{"failed while running", 0, http.StatusInternalServerError, "InternalServerError", drerr.Unavailable},
		{"failed on a conflict while running", 0, http.StatusConflict, "FailoverGroupBusy", drerr.Conflict},
	}
	for _, tt := range tests {
		for _, id := range []string{dbID, miID} {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				s := &sqlARM{nonTerminal: 1, beginStatus: tt.begin, failStatus: tt.fail, code: tt.code}
				g := newFG(t, id, s.transport())
				token, err := g.BeginFailover(ctx, false)
				if tt.begin != 0 {
					if !drerr.Is(err, tt.want) || token != "" {
						t.Fatalf("BeginFailover: token %q, %v (code %s); want %s", token, err, drerr.CodeOf(err), tt.want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if _, err := g.PollFailover(ctx, token); !drerr.Is(err, tt.want) {
					t.Fatalf("PollFailover: %v (code %s); want %s", err, drerr.CodeOf(err), tt.want)
				}
			})
		}
	}
}

// endFailed turns the fake's final success into what ARM answers for an operation
// that ended in failure, a 200 whose status is Failed, which the fake itself cannot
// express (its terminal errors are HTTP errors).
type endFailed struct{ next policy.Transporter }

func (e endFailed) Do(req *http.Request) (*http.Response, error) {
	resp, err := e.next.Do(req)
	if err == nil && resp.Header.Get("Fake-Poller-Status") == "Succeeded" {
		resp.Header.Set("Fake-Poller-Status", "Failed")
		resp.Header.Set("x-ms-error-code", "FailoverGroupFailoverAborted")
	}
	return resp, err
}

func TestAFailoverThatEndsFailedIsAnError(t *testing.T) {
	ctx := context.Background()
	for _, id := range []string{dbID, miID} {
		// Failed in the first answer.
		g := newFG(t, id, endFailed{(&sqlARM{}).transport()})
		if token, err := g.BeginFailover(ctx, true); err == nil || !strings.Contains(err.Error(), "FailoverGroupFailoverAborted") {
			t.Errorf("%s: BeginFailover answered Failed at once: token %q, %v; want the failure", id, token, err)
		}
		// Failed while running.
		tr := endFailed{(&sqlARM{nonTerminal: 2}).transport()}
		token, err := newFG(t, id, tr).BeginFailover(ctx, false)
		if err != nil || token == "" {
			t.Fatalf("%s: BeginFailover: %q, %v", id, token, err)
		}
		later := newFG(t, id, tr)
		if done, err := later.PollFailover(ctx, token); done || err != nil {
			t.Fatalf("%s: first poll: done %v, %v; want still in progress", id, done, err)
		}
		if done, err := later.PollFailover(ctx, token); !done || err == nil || !strings.Contains(err.Error(), "FailoverGroupFailoverAborted") {
			t.Errorf("%s: last poll: done %v, %v; want done with the failure", id, done, err)
		}
	}
}

func TestTokensThatCannotResumeAreInvalid(t *testing.T) {
	ctx := context.Background()
	begin := func(id string, force bool) string {
		s := &sqlARM{nonTerminal: 2}
		token, err := newFG(t, id, s.transport()).BeginFailover(ctx, force)
		if err != nil || token == "" {
			t.Fatalf("BeginFailover: %q, %v", token, err)
		}
		return token
	}
	planned, forced, instance := begin(dbID, false), begin(dbID, true), begin(miID, false)
	_, plannedSDK, _ := strings.Cut(planned, ":")
	_, forcedSDK, _ := strings.Cut(forced, ":")
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"no verb", forcedSDK},
		{"unknown verb", "soon:" + plannedSDK},
		{"not an SDK token", "planned:{not json"},
		{"forced relabelled as planned", "planned:" + forcedSDK},
		{"another kind's", instance},
		{"polling another host", strings.ReplaceAll(planned, "management.azure.com", "attacker.example")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sqlARM{}
			done, err := newFG(t, dbID, s.transport()).PollFailover(ctx, tt.token)
			if done || !drerr.Is(err, drerr.Invalid) {
				t.Fatalf("PollFailover(%q): done %v, %v (code %s); want invalid", tt.token, done, err, drerr.CodeOf(err))
			}
		})
	}
}

func TestParseID(t *testing.T) {
	good := []struct {
		id   string
		want sqlfg.ID
	}{
		{dbID, sqlfg.ID{Kind: sqlfg.Database, SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "ssis-northeurope", Server: "sql-neu", Name: "ssis-fg"}},
		{miID, sqlfg.ID{Kind: sqlfg.ManagedInstance, SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "ssis-northeurope", Location: "northeurope", Name: "ssis-fg"}},
		{strings.ToLower(dbID), sqlfg.ID{Kind: sqlfg.Database, SubscriptionID: "00000000-0000-0000-0000-000000000001", ResourceGroup: "ssis-northeurope", Server: "sql-neu", Name: "ssis-fg"}},
	}
	for _, tt := range good {
		if got, err := sqlfg.ParseID(tt.id); err != nil || got != tt.want {
			t.Errorf("ParseID(%q): %+v, %v; want %+v", tt.id, got, err, tt.want)
		}
	}
	for _, bad := range []string{
		"", "not-an-id",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-neu",                            // the server
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-neu/failoverGroups",             // the collection
		"/subscriptions/s/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/ssis-fg",                      // no resource group
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/managedInstances/mi/failoverGroups/ssis-fg", // not a real shape
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/ssis-fg/databases/SSISDB",
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.DataFactory/factories/adf",
	} {
		_, err := sqlfg.ParseID(bad)
		if !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), "instanceFailoverGroups/{group}") {
			t.Errorf("ParseID(%q): %v; want invalid, naming the expected shapes", bad, err)
		}
		if _, err := sqlfg.New(bad, &azfake.TokenCredential{}, nil); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("New(%q): %v; want invalid", bad, err)
		}
	}
}
