package armstandin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
)

// The SSIS pair the tests set up: a failover group across two regions, each with its
// own resource group and data factory.
const (
	rgWEU, rgNEU   = "ssis-weu", "ssis-neu"
	adfWEU, adfNEU = "adf-weu", "adf-neu"
	irName         = "ssis-ir"
)

func sqlClients(t *testing.T, url string, tk token) *armsql.ClientFactory {
	t.Helper()
	f, err := armsql.NewClientFactory(sub, tk, armOptions(url, true))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func adfClients(t *testing.T, url string, tk token) *armdatafactory.ClientFactory {
	t.Helper()
	f, err := armdatafactory.NewClientFactory(sub, tk, armOptions(url, true))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pair is a failover group of the kind, primary in West Europe.
func pair(kind FailoverGroupKind) FailoverGroup {
	prefix := "sql"
	if kind == ManagedInstance {
		prefix = "mi"
	}
	return FailoverGroup{Name: "fg-ssis", Kind: kind, Primary: 0, Members: [2]FailoverGroupMember{
		{Group: rgWEU, Server: prefix + "-weu", Location: "westeurope"},
		{Group: rgNEU, Server: prefix + "-neu", Location: "northeurope"},
	}}
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// wantError checks that an SDK call failed with an ARM error.
func wantError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code {
		t.Errorf("%s: %v, want %d %s", what, err, status, code)
	}
}

// transportError reports whether err is a failure to get any answer.
func transportError(err error) bool {
	var re *azcore.ResponseError
	return err != nil && !errors.As(err, &re)
}

// poller is what the tests need of an azcore runtime.Poller[T], whatever T.
type poller interface {
	Poll(context.Context) (*http.Response, error)
	Done() bool
	ResumeToken() (string, error)
}

// result reads what a completed operation reports: the failover group's role, or the
// integration runtime's state ("" for a stop, whose response has no body).
type result func(context.Context) (string, error)

func lro[T any](p *runtime.Poller[T], err error, read func(T) string) (poller, result, error) {
	if err != nil {
		return nil, nil, err
	}
	return p, func(ctx context.Context) (string, error) {
		r, err := p.Result(ctx)
		if err != nil {
			return "", err
		}
		return read(r), nil
	}, nil
}

// member is one member of a failover group, through the real armsql clients.
type member struct {
	f  *armsql.ClientFactory
	fg FailoverGroup
	i  int
}

// at is the {server} or {location} the member's requests name.
func (m member) at() string {
	if m.fg.Kind == ManagedInstance {
		return m.fg.Members[m.i].Location
	}
	return m.fg.Members[m.i].Server
}

// fgView is a member's GET, whichever the kind. Partner is the partner's server ID
// (SQL Database) or the primary instance of ManagedInstancePairs (Managed Instance).
type fgView struct{ Role, State, PartnerRole, PartnerLocation, Partner string }

func (m member) get(ctx context.Context) (fgView, error) {
	g := m.fg.Members[m.i].Group
	if m.fg.Kind == SQLDatabase {
		resp, err := m.f.NewFailoverGroupsClient().Get(ctx, g, m.at(), m.fg.Name, nil)
		if err != nil || resp.Properties == nil {
			return fgView{}, err
		}
		p := resp.Properties
		v := fgView{Role: deref(p.ReplicationRole), State: deref(p.ReplicationState)}
		if len(p.PartnerServers) == 1 {
			ps := p.PartnerServers[0]
			v.PartnerRole, v.PartnerLocation, v.Partner = deref(ps.ReplicationRole), deref(ps.Location), deref(ps.ID)
		}
		return v, nil
	}
	resp, err := m.f.NewInstanceFailoverGroupsClient().Get(ctx, g, m.at(), m.fg.Name, nil)
	if err != nil || resp.Properties == nil {
		return fgView{}, err
	}
	p := resp.Properties
	v := fgView{Role: deref(p.ReplicationRole), State: deref(p.ReplicationState)}
	if len(p.PartnerRegions) == 1 {
		v.PartnerRole, v.PartnerLocation = deref(p.PartnerRegions[0].ReplicationRole), deref(p.PartnerRegions[0].Location)
	}
	if len(p.ManagedInstancePairs) == 1 {
		v.Partner = deref(p.ManagedInstancePairs[0].PrimaryManagedInstanceID)
	}
	return v, nil
}

// failover begins a failover on the member, or resumes one from token.
func (m member) failover(ctx context.Context, force bool, token string) (poller, result, error) {
	g, at, name := m.fg.Members[m.i].Group, m.at(), m.fg.Name
	sqlRole := func(fg armsql.FailoverGroup) string {
		if fg.Properties == nil {
			return ""
		}
		return deref(fg.Properties.ReplicationRole)
	}
	miRole := func(fg armsql.InstanceFailoverGroup) string {
		if fg.Properties == nil {
			return ""
		}
		return deref(fg.Properties.ReplicationRole)
	}
	switch c, ic := m.f.NewFailoverGroupsClient(), m.f.NewInstanceFailoverGroupsClient(); {
	case m.fg.Kind == SQLDatabase && !force:
		p, err := c.BeginFailover(ctx, g, at, name, &armsql.FailoverGroupsClientBeginFailoverOptions{ResumeToken: token})
		return lro(p, err, func(r armsql.FailoverGroupsClientFailoverResponse) string { return sqlRole(r.FailoverGroup) })
	case m.fg.Kind == SQLDatabase:
		p, err := c.BeginForceFailoverAllowDataLoss(ctx, g, at, name, &armsql.FailoverGroupsClientBeginForceFailoverAllowDataLossOptions{ResumeToken: token})
		return lro(p, err, func(r armsql.FailoverGroupsClientForceFailoverAllowDataLossResponse) string {
			return sqlRole(r.FailoverGroup)
		})
	case !force:
		p, err := ic.BeginFailover(ctx, g, at, name, &armsql.InstanceFailoverGroupsClientBeginFailoverOptions{ResumeToken: token})
		return lro(p, err, func(r armsql.InstanceFailoverGroupsClientFailoverResponse) string {
			return miRole(r.InstanceFailoverGroup)
		})
	default:
		p, err := ic.BeginForceFailoverAllowDataLoss(ctx, g, at, name, &armsql.InstanceFailoverGroupsClientBeginForceFailoverAllowDataLossOptions{ResumeToken: token})
		return lro(p, err, func(r armsql.InstanceFailoverGroupsClientForceFailoverAllowDataLossResponse) string {
			return miRole(r.InstanceFailoverGroup)
		})
	}
}

// checkFirstAnswer checks a long-running operation's 202: a Location under the
// resource's own path (so its resource group), at the provider's api-version, and
// Retry-After.
func checkFirstAnswer(t *testing.T, resp *http.Response, resource, version string) {
	t.Helper()
	if resp == nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first answer %v, want 202 Accepted", resp)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, resource+"/operationResults/") || !strings.HasSuffix(loc, "?api-version="+version) {
		t.Errorf("Location %q, want %s/operationResults/{id}?api-version=%s", loc, resource, version)
	}
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if got := resp.Header.Get("Fake-Poller-Status"); got != "" {
		t.Errorf("Fake-Poller-Status %q: the stand-in leaked a fake's header", got)
	}
}

func eventStrings(evs []Event) []string {
	var out []string
	for i, e := range evs {
		if e.Seq != i+1 {
			out = append(out, fmt.Sprintf("seq %d at %d", e.Seq, i+1))
		}
		out = append(out, e.String())
	}
	return out
}

func writeStrings(ws []Write) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Op+" "+w.Name+" "+string(w.Content))
	}
	return out
}

func TestFailoverGroupGet(t *testing.T) {
	for _, kind := range []FailoverGroupKind{SQLDatabase, ManagedInstance} {
		t.Run(string(kind), func(t *testing.T) {
			s, url := serve(t, nil)
			fg := pair(kind)
			s.PutFailoverGroup(fg)
			ctx := context.Background()
			f := sqlClients(t, url, "local-stand-in")
			prefix := "/subscriptions/" + sub + "/resourceGroups/"
			want := []fgView{
				{RolePrimary, ReplicationCatchUp, RoleSecondary, "northeurope", prefix + rgNEU + "/providers/Microsoft.Sql/servers/sql-neu"},
				{RoleSecondary, ReplicationCatchUp, RolePrimary, "westeurope", prefix + rgWEU + "/providers/Microsoft.Sql/servers/sql-weu"},
			}
			if kind == ManagedInstance {
				primary := prefix + rgWEU + "/providers/Microsoft.Sql/managedInstances/mi-weu"
				want[0].Partner, want[1].Partner = primary, primary // either member names the primary instance
			}
			for i := range 2 {
				got, err := member{f, fg, i}.get(ctx)
				if err != nil {
					t.Fatalf("member %d: %v", i, err)
				}
				if got != want[i] {
					t.Errorf("member %d answers %+v, want %+v", i, got, want[i])
				}
			}
			// Neither a server nor a location outside the group answers for it.
			stranger := fg
			stranger.Members[1].Server, stranger.Members[1].Location = "sql-other", "francecentral"
			_, err := member{f, stranger, 1}.get(ctx)
			wantError(t, "GET on a non-member", err, http.StatusNotFound, "ResourceNotFound")
		})
	}
}

func TestFailover(t *testing.T) {
	const polls = 3
	for _, kind := range []FailoverGroupKind{SQLDatabase, ManagedInstance} {
		for _, force := range []bool{false, true} {
			op := "failoverGroups.failover"
			if force {
				op = "failoverGroups.forceFailover"
			}
			t.Run(fmt.Sprintf("%s %s", kind, op), func(t *testing.T) {
				s, url := serve(t, nil)
				fg := pair(kind)
				s.PutFailoverGroup(fg)
				s.SetPollsToComplete(polls)
				ctx := context.Background()
				f := sqlClients(t, url, "local-stand-in")
				primary, secondary := member{f, fg, 0}, member{f, fg, 1}
				views := func() [2]fgView {
					t.Helper()
					var out [2]fgView
					for i, m := range []member{primary, secondary} {
						v, err := m.get(ctx)
						if err != nil {
							t.Fatalf("GET member %d: %v", i, err)
						}
						out[i] = v
					}
					return out
				}
				var first *http.Response
				p, res, err := secondary.failover(policy.WithCaptureResponse(ctx, &first), force, "")
				if err != nil {
					t.Fatal(err)
				}
				path := "/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/fg-ssis"
				if kind == ManagedInstance {
					path = "/providers/Microsoft.Sql/locations/northeurope/instanceFailoverGroups/fg-ssis"
				}
				checkFirstAnswer(t, first, url+"/subscriptions/"+sub+"/resourceGroups/"+rgNEU+path, "2020-11-01-preview")
				_, _, err = secondary.failover(ctx, force, "")
				wantError(t, "a second failover while one is in progress", err, http.StatusConflict, "FailoverGroupOperationInProgress")
				reads := 0
				for n := range polls {
					if p.Done() {
						t.Fatalf("done after %d polls, want %d", n, polls)
					}
					v := views()
					if v[0].Role != RolePrimary || v[1].Role != RoleSecondary || v[0].State != ReplicationPending || v[1].State != ReplicationPending {
						t.Fatalf("after %d polls the members answer %+v, want roles unchanged and PENDING", n, v)
					}
					resp, err := p.Poll(ctx)
					if err != nil {
						t.Fatalf("poll %d: %v", n+1, err)
					}
					left := resp.Header.Get("x-ms-ratelimit-remaining-subscription-reads")
					if left == "" {
						t.Fatalf("poll %d drew no read token", n+1)
					}
					reads += 3 // two GETs and the poll
					if want := fmt.Sprint(250 - reads); left != want {
						t.Errorf("reads left after poll %d: %s, want %s (a poll is a read)", n+1, left, want)
					}
				}
				if !p.Done() {
					t.Fatalf("not done after %d polls", polls)
				}
				if role, err := res(ctx); err != nil || role != RolePrimary {
					t.Errorf("result: role %q, %v; want the target's new role Primary", role, err)
				}
				v := views()
				if v[0].Role != RoleSecondary || v[0].PartnerRole != RolePrimary || v[1].Role != RolePrimary || v[1].PartnerRole != RoleSecondary || v[0].State != ReplicationCatchUp || v[1].State != ReplicationCatchUp {
					t.Errorf("after the failover the members answer %+v, want roles swapped and CATCH_UP", v)
				}
				var hook interface {
					MemberRole(string, int) (string, bool)
				} = s
				for i, want := range []string{RoleSecondary, RolePrimary} {
					if got, ok := hook.MemberRole("FG-SSIS", i); !ok || got != want {
						t.Errorf("MemberRole(%d) = %q, %v; want %s", i, got, ok, want)
					}
				}
				if roles, ok := s.FailoverGroupRoles(fg.Name); !ok || roles != [2]string{RoleSecondary, RolePrimary} {
					t.Errorf("FailoverGroupRoles = %v, %v", roles, ok)
				}
				if got := writeStrings(s.Writes(rgNEU, "")); !slices.Equal(got, []string{op + ` fg-ssis {"target":"` + rgNEU + "/" + secondary.at() + `"}`}) {
					t.Errorf("Writes = %q", got)
				}
				forced := 0
				if force {
					forced = 1
				}
				if got := s.ForcedFailovers(fg.Name); got != forced {
					t.Errorf("ForcedFailovers = %d, want %d", got, forced)
				}
				if got, want := eventStrings(s.Events()), []string{op + " begun fg-ssis", op + " completed fg-ssis"}; !slices.Equal(got, want) {
					t.Errorf("Events = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestFailoverRefused(t *testing.T) {
	for _, kind := range []FailoverGroupKind{SQLDatabase, ManagedInstance} {
		for _, force := range []bool{false, true} {
			for _, tc := range []struct {
				name   string
				member func(FailoverGroup) (FailoverGroup, int)
				status int
				code   string
			}{
				{"on the primary", func(fg FailoverGroup) (FailoverGroup, int) { return fg, 0 }, http.StatusBadRequest, "FailoverGroupFailoverRequestOnPrimary"},
				{"on a server outside the group", func(fg FailoverGroup) (FailoverGroup, int) {
					fg.Members[1].Server, fg.Members[1].Location = "sql-other", "francecentral"
					return fg, 1
				}, http.StatusNotFound, "ResourceNotFound"},
			} {
				t.Run(fmt.Sprintf("%s force=%v %s", kind, force, tc.name), func(t *testing.T) {
					s, url := serve(t, nil)
					fg := pair(kind)
					s.PutFailoverGroup(fg)
					s.SetPollsToComplete(0) // were it accepted, it would complete at once
					ctx := context.Background()
					asked, i := tc.member(fg)
					_, _, err := member{sqlClients(t, url, "local-stand-in"), asked, i}.failover(ctx, force, "")
					wantError(t, "failover", err, tc.status, tc.code)
					if roles, _ := s.FailoverGroupRoles(fg.Name); roles != [2]string{RolePrimary, RoleSecondary} {
						t.Errorf("roles %v after a refused failover", roles)
					}
					if w := append(s.Writes(rgWEU, ""), s.Writes(rgNEU, "")...); len(w) != 0 {
						t.Errorf("a refused failover was logged: %q", writeStrings(w))
					}
					if e := s.Events(); len(e) != 0 || s.ForcedFailovers(fg.Name) != 0 {
						t.Errorf("a refused failover left events %q, %d forced", eventStrings(e), s.ForcedFailovers(fg.Name))
					}
				})
			}
		}
	}
}

// beginIR begins a start or stop of an integration runtime on f, or resumes one from
// token, in which case group, factory and name are not sent anywhere.
func beginIR(ctx context.Context, f *armdatafactory.ClientFactory, group, factory, name string, start bool, token string) (poller, result, error) {
	c := f.NewIntegrationRuntimesClient()
	if start {
		p, err := c.BeginStart(ctx, group, factory, name, &armdatafactory.IntegrationRuntimesClientBeginStartOptions{ResumeToken: token})
		return lro(p, err, func(r armdatafactory.IntegrationRuntimesClientStartResponse) string {
			if r.Properties == nil {
				return ""
			}
			return deref(r.Properties.GetIntegrationRuntimeStatus().State)
		})
	}
	p, err := c.BeginStop(ctx, group, factory, name, &armdatafactory.IntegrationRuntimesClientBeginStopOptions{ResumeToken: token})
	return lro(p, err, func(armdatafactory.IntegrationRuntimesClientStopResponse) string { return "" })
}

func irStatus(ctx context.Context, f *armdatafactory.ClientFactory, group, factory, name string) (string, error) {
	resp, err := f.NewIntegrationRuntimesClient().GetStatus(ctx, group, factory, name, nil)
	if err != nil || resp.Properties == nil {
		return "", err
	}
	return deref(resp.Properties.GetIntegrationRuntimeStatus().State), nil
}

func TestIntegrationRuntimeOperations(t *testing.T) {
	const polls = 3
	for _, tc := range []struct {
		name                 string
		start                bool
		from, via, to        string
		op, result, noResult string // what the final answers report
	}{
		{"start from Stopped", true, "Stopped", "Starting", "Started", "integrationRuntimes.start", "Started", "Started"},
		{"start from Initial", true, "Initial", "Starting", "Started", "integrationRuntimes.start", "Started", "Started"},
		{"stop from Started", false, "Started", "Stopping", "Stopped", "integrationRuntimes.stop", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := serve(t, nil)
			s.PutIntegrationRuntime(rgNEU, adfNEU, irName, tc.from)
			s.SetPollsToComplete(polls)
			ctx := context.Background()
			alice := adfClients(t, url, "alice")
			state := func(want string) {
				t.Helper()
				got, err := irStatus(ctx, alice, rgNEU, adfNEU, irName)
				if err != nil || got != want {
					t.Fatalf("getStatus: %q, %v; want %s", got, err, want)
				}
				if got, ok := s.IntegrationRuntimeState(rgNEU, adfNEU, irName); !ok || got != want {
					t.Fatalf("IntegrationRuntimeState: %q, %v; want %s", got, ok, want)
				}
			}
			var first *http.Response
			p, _, err := beginIR(policy.WithCaptureResponse(ctx, &first), alice, rgNEU, adfNEU, irName, tc.start, "")
			if err != nil {
				t.Fatal(err)
			}
			checkFirstAnswer(t, first, url+"/subscriptions/"+sub+"/resourceGroups/"+rgNEU+"/providers/Microsoft.DataFactory/factories/"+adfNEU+"/integrationRuntimes/"+irName, "2018-06-01")
			if p.Done() {
				t.Fatal("done in the first answer")
			}
			state(tc.via)
			for _, start := range []bool{true, false} {
				_, _, err := beginIR(ctx, alice, rgNEU, adfNEU, irName, start, "")
				wantError(t, fmt.Sprintf("start=%v while %s", start, tc.via), err, http.StatusConflict, "IntegrationRuntimeOperationInProgress")
			}
			tok, err := p.ResumeToken()
			if err != nil {
				t.Fatal(err)
			}
			// A new client, as after a restart, knowing nothing but the token.
			resumed, res, err := beginIR(ctx, adfClients(t, url, "bob"), "", "", "", tc.start, tok)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			for n := range polls {
				if resumed.Done() {
					t.Fatalf("done after %d polls, want %d", n, polls)
				}
				state(tc.via)
				if _, err := resumed.Poll(ctx); err != nil {
					t.Fatalf("poll %d: %v", n+1, err)
				}
			}
			if !resumed.Done() {
				t.Fatalf("not done after %d polls", polls)
			}
			if got, err := res(ctx); err != nil || got != tc.result {
				t.Errorf("result %q, %v; want %q", got, err, tc.result)
			}
			state(tc.to)

			// Asked again, there is nothing to do: 200 at once, nothing changes.
			var again *http.Response
			p, res, err = beginIR(policy.WithCaptureResponse(ctx, &again), alice, rgNEU, adfNEU, irName, tc.start, "")
			if err != nil || again.StatusCode != http.StatusOK || !p.Done() {
				t.Fatalf("asked again: %v, %v; want 200 and done", again, err)
			}
			if got, err := res(ctx); err != nil || got != tc.noResult {
				t.Errorf("result asked again %q, %v; want %q", got, err, tc.noResult)
			}
			state(tc.to)

			wantWrites := []string{
				tc.op + " " + irName + ` {"factory":"` + adfNEU + `","state":"` + tc.via + `"}`,
				tc.op + " " + irName + ` {"factory":"` + adfNEU + `","state":"` + tc.to + `"}`,
			}
			if got := writeStrings(s.Writes(rgNEU, "")); !slices.Equal(got, wantWrites) {
				t.Errorf("Writes = %q, want %q", got, wantWrites)
			}
			evs := s.Events()
			if got, want := eventStrings(evs), []string{tc.op + " begun " + irName, tc.op + " completed " + irName, tc.op + " completed " + irName}; !slices.Equal(got, want) {
				t.Errorf("Events = %q, want %q", got, want)
			} else if evs[0].ID == "" || evs[1].ID != evs[0].ID || evs[2].ID != "" {
				t.Errorf("Event IDs %q %q %q: want the operation's twice, then none", evs[0].ID, evs[1].ID, evs[2].ID)
			}
			if got := s.Stats(false)[rgNEU+"/"]["integrationRuntimes.operationResults"]; got != polls {
				t.Errorf("Stats: %d polls, want %d", got, polls)
			}
		})
	}
}

func TestIntegrationRuntimeStartFailures(t *testing.T) {
	s, url := serve(t, nil)
	s.PutIntegrationRuntime(rgNEU, adfNEU, irName, "Stopped")
	s.FailIntegrationRuntimeStarts(rgNEU, adfNEU, irName, 2)
	s.SetPollsToComplete(1)
	ctx := context.Background()
	f := adfClients(t, url, "local-stand-in")
	for i := range 2 {
		_, _, err := beginIR(ctx, f, rgNEU, adfNEU, irName, true, "")
		wantError(t, fmt.Sprintf("start %d", i+1), err, http.StatusBadRequest, "IntegrationRuntimeStartFailed")
		if got, _ := s.IntegrationRuntimeState(rgNEU, adfNEU, irName); got != "Stopped" {
			t.Fatalf("state %s after a failed start", got)
		}
	}
	if w := s.Writes(rgNEU, ""); len(w) != 0 {
		t.Errorf("failed starts were logged as writes: %q", writeStrings(w))
	}
	p, _, err := beginIR(ctx, f, rgNEU, adfNEU, irName, true, "")
	if err != nil {
		t.Fatalf("third start: %v", err)
	}
	if _, err := p.Poll(ctx); err != nil || !p.Done() {
		t.Fatalf("poll: %v, done %v; want done after one poll", err, p.Done())
	}
	if got, _ := s.IntegrationRuntimeState(rgNEU, adfNEU, irName); got != "Started" {
		t.Errorf("state %s, want Started", got)
	}
}

// TestCompleteAtOnce: with no polls to wait, a long-running operation's first answer
// is final, as for a service that is already done.
func TestCompleteAtOnce(t *testing.T) {
	s, url := serve(t, nil)
	s.SetPollsToComplete(0)
	s.PutIntegrationRuntime(rgNEU, adfNEU, irName, "Started")
	fg := pair(SQLDatabase)
	s.PutFailoverGroup(fg)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		begin func(context.Context) (poller, result, error)
		want  string
	}{
		{"stop", func(ctx context.Context) (poller, result, error) {
			return beginIR(ctx, adfClients(t, url, "local-stand-in"), rgNEU, adfNEU, irName, false, "")
		}, ""},
		{"start", func(ctx context.Context) (poller, result, error) {
			return beginIR(ctx, adfClients(t, url, "local-stand-in"), rgNEU, adfNEU, irName, true, "")
		}, "Started"},
		{"failover", func(ctx context.Context) (poller, result, error) {
			return member{sqlClients(t, url, "local-stand-in"), fg, 1}.failover(ctx, false, "")
		}, RolePrimary},
	} {
		var first *http.Response
		p, res, err := tc.begin(policy.WithCaptureResponse(ctx, &first))
		if err != nil || first.StatusCode != http.StatusOK || !p.Done() {
			t.Fatalf("%s: %v, %v; want 200 and done", tc.name, first, err)
		}
		if got, err := res(ctx); err != nil || got != tc.want {
			t.Errorf("%s: result %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if roles, _ := s.FailoverGroupRoles(fg.Name); roles != [2]string{RoleSecondary, RolePrimary} {
		t.Errorf("roles %v, want swapped", roles)
	}
	want := []string{"integrationRuntimes.stop completed " + irName, "integrationRuntimes.start completed " + irName, "failoverGroups.failover completed fg-ssis"}
	if got := eventStrings(s.Events()); !slices.Equal(got, want) {
		t.Errorf("Events = %q, want %q", got, want)
	}
}

func TestTriggers(t *testing.T) {
	s, url := serve(t, nil)
	s.PutTrigger(rgWEU, adfWEU, "tr-nightly", "Stopped", "ssis-dr", "follows:primary")
	s.PutTrigger(rgWEU, adfWEU, "tr-hourly", "Started", "ssis-dr")
	s.PutTrigger(rgWEU, adfWEU, "tr-manual", "Disabled")
	s.PutTrigger(rgNEU, adfNEU, "tr-nightly", "Stopped") // the other side's: not listed
	ctx := context.Background()
	c := adfClients(t, url, "local-stand-in").NewTriggersClient()
	type trig struct {
		name, state string
		annotations []any
	}
	read := func(r *armdatafactory.TriggerResource) trig {
		st, ok := r.Properties.(*armdatafactory.ScheduleTrigger)
		if !ok {
			t.Fatalf("trigger %s is a %T, want a ScheduleTrigger", deref(r.Name), r.Properties)
		}
		return trig{deref(r.Name), deref(st.RuntimeState), st.Annotations}
	}
	list := func() []trig {
		t.Helper()
		var out []trig
		for pager := c.NewListByFactoryPager(rgWEU, adfWEU, nil); pager.More(); {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Value {
				out = append(out, read(r))
			}
		}
		return out
	}
	same := func(a, b []trig) bool {
		return slices.EqualFunc(a, b, func(x, y trig) bool {
			return x.name == y.name && x.state == y.state && slices.Equal(x.annotations, y.annotations)
		})
	}
	want := []trig{
		{"tr-hourly", "Started", []any{"ssis-dr"}},
		{"tr-manual", "Disabled", nil},
		{"tr-nightly", "Stopped", []any{"ssis-dr", "follows:primary"}},
	}
	if got := list(); !same(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	resp, err := c.Get(ctx, rgWEU, adfWEU, "tr-nightly", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(&resp.TriggerResource); !same([]trig{got}, want[2:]) {
		t.Errorf("got %v, want %v", got, want[2])
	}

	for _, step := range []struct {
		name  string
		start bool
		want  string
	}{{"tr-nightly", true, "Started"}, {"tr-hourly", false, "Stopped"}, {"tr-nightly", true, "Started"}} {
		var first *http.Response
		var p interface{ Done() bool }
		var err error
		if step.start {
			p, err = c.BeginStart(policy.WithCaptureResponse(ctx, &first), rgWEU, adfWEU, step.name, nil)
		} else {
			p, err = c.BeginStop(policy.WithCaptureResponse(ctx, &first), rgWEU, adfWEU, step.name, nil)
		}
		if err != nil || first.StatusCode != http.StatusOK || !p.Done() {
			t.Fatalf("start=%v %s: %v, %v; want 200 and done", step.start, step.name, first, err)
		}
		if h := first.Header.Get("Fake-Poller-Status"); h != "" {
			t.Errorf("Fake-Poller-Status %q reached the client", h)
		}
		if got, _ := s.TriggerState(rgWEU, adfWEU, step.name); got != step.want {
			t.Errorf("%s: state %s, want %s", step.name, got, step.want)
		}
	}
	want[0].state, want[2].state = "Stopped", "Started"
	if got := list(); !same(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if got, _ := s.TriggerState(rgNEU, adfNEU, "tr-nightly"); got != "Stopped" {
		t.Errorf("the other factory's trigger is %s", got)
	}
	_, err = c.Get(ctx, rgWEU, adfWEU, "missing", nil)
	wantError(t, "get of a missing trigger", err, http.StatusNotFound, "ResourceNotFound")
	_, err = c.BeginStart(ctx, rgWEU, adfWEU, "missing", nil)
	wantError(t, "start of a missing trigger", err, http.StatusNotFound, "ResourceNotFound")
	wantWrites := []string{
		`triggers.start tr-nightly {"factory":"adf-weu","state":"Started"}`,
		`triggers.stop tr-hourly {"factory":"adf-weu","state":"Stopped"}`,
		`triggers.start tr-nightly {"factory":"adf-weu","state":"Started"}`,
	}
	if got := writeStrings(s.Writes(rgWEU, "")); !slices.Equal(got, wantWrites) {
		t.Errorf("Writes = %q, want %q", got, wantWrites)
	}
	wantEvents := []string{"triggers.start completed tr-nightly", "triggers.stop completed tr-hourly", "triggers.start completed tr-nightly"}
	if got := eventStrings(s.Events()); !slices.Equal(got, wantEvents) {
		t.Errorf("Events = %q, want %q", got, wantEvents)
	}
}

// TestEventsOrder interleaves operations across both resource groups: the log keeps
// the order in which they began and completed.
func TestEventsOrder(t *testing.T) {
	s, url := serve(t, nil)
	fg := pair(SQLDatabase)
	s.PutFailoverGroup(fg)
	s.PutIntegrationRuntime(rgWEU, adfWEU, irName, "Started")
	s.PutIntegrationRuntime(rgNEU, adfNEU, irName, "Stopped")
	s.SetPollsToComplete(2)
	ctx := context.Background()
	f := adfClients(t, url, "local-stand-in")
	failover, _, err := member{sqlClients(t, url, "local-stand-in"), fg, 1}.failover(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	stop, _, err := beginIR(ctx, f, rgWEU, adfWEU, irName, false, "")
	if err != nil {
		t.Fatal(err)
	}
	start, _, err := beginIR(ctx, f, rgNEU, adfNEU, irName, true, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []poller{start, failover, stop} {
		for !p.Done() {
			if _, err := p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{
		"failoverGroups.forceFailover begun fg-ssis",
		"integrationRuntimes.stop begun " + irName,
		"integrationRuntimes.start begun " + irName,
		"integrationRuntimes.start completed " + irName,
		"failoverGroups.forceFailover completed fg-ssis",
		"integrationRuntimes.stop completed " + irName,
	}
	evs := s.Events()
	if got := eventStrings(evs); !slices.Equal(got, want) {
		t.Fatalf("Events = %q, want %q", got, want)
	}
	for i, g := range []string{rgNEU, rgWEU, rgNEU, rgNEU, rgNEU, rgWEU} {
		if evs[i].Group != g {
			t.Errorf("event %d (%s) in %s, want %s", i+1, evs[i], evs[i].Group, g)
		}
	}
}

// TestSSISUnreachable cuts off one side's resource group: every request there, polls
// included, loses its connection, and the polls that got no answer do not count.
func TestSSISUnreachable(t *testing.T) {
	for _, kind := range []FailoverGroupKind{SQLDatabase, ManagedInstance} {
		t.Run(string(kind), func(t *testing.T) {
			s, url := serve(t, nil)
			fg := pair(kind)
			s.PutFailoverGroup(fg)
			s.PutIntegrationRuntime(rgNEU, adfNEU, irName, "Stopped")
			s.PutIntegrationRuntime(rgNEU, adfNEU, "ir-2", "Stopped")
			s.PutTrigger(rgNEU, adfNEU, "tr", "Stopped")
			s.PutIntegrationRuntime(rgWEU, adfWEU, irName, "Started")
			s.SetPollsToComplete(2)
			ctx := context.Background()
			sf, af := sqlClients(t, url, "local-stand-in"), adfClients(t, url, "local-stand-in")
			pending, _, err := beginIR(ctx, af, rgNEU, adfNEU, irName, true, "")
			if err != nil {
				t.Fatal(err)
			}
			s.SetUnreachable(rgNEU, "", true)
			for _, c := range []struct {
				name string
				do   func() error
			}{
				{"failover group GET", func() error { _, err := member{sf, fg, 1}.get(ctx); return err }},
				{"failover", func() error { _, _, err := member{sf, fg, 1}.failover(ctx, true, ""); return err }},
				{"integration runtime status", func() error { _, err := irStatus(ctx, af, rgNEU, adfNEU, irName); return err }},
				{"integration runtime start", func() error { _, _, err := beginIR(ctx, af, rgNEU, adfNEU, "ir-2", true, ""); return err }},
				{"poll", func() error { _, err := pending.Poll(ctx); return err }},
				{"poll again", func() error { _, err := pending.Poll(ctx); return err }},
				{"triggers list", func() error {
					_, err := af.NewTriggersClient().NewListByFactoryPager(rgNEU, adfNEU, nil).NextPage(ctx)
					return err
				}},
				{"trigger start", func() error { _, err := af.NewTriggersClient().BeginStart(ctx, rgNEU, adfNEU, "tr", nil); return err }},
			} {
				if err := c.do(); !transportError(err) {
					t.Errorf("%s in an unreachable group: %v, want a transport error", c.name, err)
				}
			}
			// The other side answers.
			if v, err := (member{sf, fg, 0}).get(ctx); err != nil || v.Role != RolePrimary {
				t.Errorf("the reachable member: %+v, %v", v, err)
			}
			if st, err := irStatus(ctx, af, rgWEU, adfWEU, irName); err != nil || st != "Started" {
				t.Errorf("the reachable factory: %s, %v", st, err)
			}
			if roles, _ := s.FailoverGroupRoles(fg.Name); roles != [2]string{RolePrimary, RoleSecondary} || s.ForcedFailovers(fg.Name) != 0 {
				t.Errorf("roles %v, %d forced: a cut-off failover took effect", roles, s.ForcedFailovers(fg.Name))
			}
			for ir, want := range map[string]string{irName: "Starting", "ir-2": "Stopped"} {
				if got, _ := s.IntegrationRuntimeState(rgNEU, adfNEU, ir); got != want {
					t.Errorf("%s is %s, want %s", ir, got, want)
				}
			}
			if got, _ := s.TriggerState(rgNEU, adfNEU, "tr"); got != "Stopped" {
				t.Errorf("trigger %s: a cut-off start took effect", got)
			}
			s.SetUnreachable(rgNEU, "", false)
			for n := range 2 {
				if pending.Done() {
					t.Fatalf("done after %d answered polls: the unanswered ones counted", n)
				}
				if _, err := pending.Poll(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if !pending.Done() {
				t.Error("not done after 2 answered polls")
			}
			// net/http resends a GET once when a kept-alive connection closes under it, so
			// the stand-in may see more than the eight calls.
			if got := s.Stats(false)[rgNEU+"/"]["unreachable"]; got < 8 {
				t.Errorf("Stats unreachable = %d, want at least 8", got)
			}
		})
	}
}

// TestSSISRoutes sends raw requests: each provider at its own api-version, and the
// operation results of operations that do not exist.
func TestSSISRoutes(t *testing.T) {
	s, url := serve(t, nil)
	s.PutFailoverGroup(pair(SQLDatabase))
	s.PutIntegrationRuntime(rgNEU, adfNEU, irName, "Stopped")
	s.PutWorkflow(rgNEU, "wf", "Enabled")
	s.SetPollsToComplete(5)
	ctx := context.Background()
	var first *http.Response
	if _, _, err := beginIR(policy.WithCaptureResponse(ctx, &first), adfClients(t, url, "local-stand-in"), rgNEU, adfNEU, irName, true, ""); err != nil {
		t.Fatal(err)
	}
	pollPath, _, _ := strings.Cut(strings.TrimPrefix(first.Header.Get("Location"), url), "?")

	prefix := "/subscriptions/" + sub + "/resourceGroups/"
	fgPath := prefix + rgNEU + "/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/fg-ssis"
	irPath := prefix + rgNEU + "/providers/Microsoft.DataFactory/factories/" + adfNEU + "/integrationRuntimes/" + irName
	for _, tc := range []struct {
		name, method, path, version string
		status                      int
		code                        string
	}{
		{"failover group", http.MethodGet, fgPath, "2020-11-01-preview", http.StatusOK, ""},
		{"failover group at Logic's version", http.MethodGet, fgPath, "2019-05-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"failover group at Data Factory's version", http.MethodGet, fgPath, "2018-06-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"failover at no version", http.MethodPost, fgPath + "/failover", "", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"integration runtime status", http.MethodPost, irPath + "/getStatus", "2018-06-01", http.StatusOK, ""},
		{"integration runtime status at SQL's version", http.MethodPost, irPath + "/getStatus", "2020-11-01-preview", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"triggers at Logic's version", http.MethodGet, prefix + rgNEU + "/providers/Microsoft.DataFactory/factories/" + adfNEU + "/triggers", "2019-05-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"workflow", http.MethodGet, prefix + rgNEU + "/providers/Microsoft.Logic/workflows/wf", "2019-05-01", http.StatusOK, ""},
		{"workflow at Data Factory's version", http.MethodGet, prefix + rgNEU + "/providers/Microsoft.Logic/workflows/wf", "2018-06-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"operation result", http.MethodGet, pollPath, "2018-06-01", http.StatusAccepted, ""},
		{"operation result at SQL's version", http.MethodGet, pollPath, "2020-11-01-preview", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{"unknown operation", http.MethodGet, irPath + "/operationResults/NOSUCHOPERATION", "2018-06-01", http.StatusNotFound, "OperationNotFound"},
		{"an operation under another resource", http.MethodGet, strings.Replace(pollPath, irName, "ir-other", 1), "2018-06-01", http.StatusNotFound, "OperationNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := url + tc.path
			if tc.version != "" {
				target += "?api-version=" + tc.version
			}
			req, _ := http.NewRequestWithContext(ctx, tc.method, target, nil)
			req.Header.Set("Authorization", "Bearer local-stand-in")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close() // only the status and error code are checked
			if resp.StatusCode != tc.status || resp.Header.Get("x-ms-error-code") != tc.code {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("x-ms-error-code"), tc.status, tc.code)
			}
		})
	}
}
