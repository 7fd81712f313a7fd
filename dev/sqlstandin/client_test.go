package sqlstandin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/drerr"
	"integration-dr/mssql"
)

const (
	west = "mi-west.abc.database.windows.net"
	east = "mi-east.def.database.windows.net"
	sqlw = "sqlwest.database.windows.net"
)

// failoverGroup stands in for a SQL failover group: the host it names is PRIMARY,
// every other SECONDARY, and failover hands the role to another host.
type failoverGroup struct {
	mu      sync.Mutex
	primary string
}

func (g *failoverGroup) source(host string) RoleSource {
	return func() (string, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.primary == host {
			return "PRIMARY", true
		}
		return "SECONDARY", true
	}
}

func (g *failoverGroup) failover(to string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.primary = to
}

func fixed(role string, ok bool) RoleSource { return func() (string, bool) { return role, ok } }

// serve starts a stand-in for the test's lifetime.
func serve(t *testing.T) (*Server, string) {
	t.Helper()
	s := New()
	base, err := s.Start(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return s, base
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func client(t *testing.T, base, host string, kind mssql.Kind) *Client {
	t.Helper()
	c, err := NewClient(base, host, kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func checkCode(t *testing.T, err error, want drerr.Code) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want code %s", want)
	case want != "" && drerr.CodeOf(err) != want:
		t.Errorf("code = %s, want %s (%v)", drerr.CodeOf(err), want, err)
	}
}

func ops(calls []Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Op)
	}
	return out
}

func TestRole(t *testing.T) {
	tests := []struct {
		name     string
		source   RoleSource
		rows     []string // set as an override when not nil
		want     mssql.Role
		wantCode drerr.Code
	}{
		{name: "a PRIMARY source is Primary", source: fixed("PRIMARY", true), want: mssql.RolePrimary},
		{name: "a SECONDARY source is Secondary", source: fixed("SECONDARY", true), want: mssql.RoleSecondary},
		{name: "a source with no row is None", source: fixed("", false), want: mssql.RoleNone},
		{name: "forced SECONDARY wins over the source", source: fixed("PRIMARY", true), rows: []string{"SECONDARY"}, want: mssql.RoleSecondary},
		{name: "forced no row wins over the source", source: fixed("PRIMARY", true), rows: []string{}, want: mssql.RoleNone},
		{name: "links that disagree are Unknown and Unavailable", source: fixed("PRIMARY", true), rows: []string{"PRIMARY", "SECONDARY"},
			want: mssql.RoleUnknown, wantCode: drerr.Unavailable},
		{name: "a role the product does not know is Unknown and Internal", source: fixed("PRIMARY", true), rows: []string{"RESOLVING"},
			want: mssql.RoleUnknown, wantCode: drerr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := serve(t)
			must(t, s.PutSSISDB(west, mssql.ManagedInstance, tt.source))
			if tt.rows != nil {
				must(t, s.SetRoleRows(west, tt.rows...))
			}
			before := time.Now()
			got, err := client(t, base, west, mssql.ManagedInstance).Role(t.Context())
			after := time.Now()
			if got != tt.want {
				t.Errorf("role = %v, want %v", got, tt.want)
			}
			checkCode(t, err, tt.wantCode)
			calls := s.Calls(west)
			if len(calls) != 1 || calls[0].Op != "role" || calls[0].At.Before(before) || calls[0].At.After(after) {
				t.Errorf("calls = %+v, want one role call between %v and %v", calls, before, after)
			}
		})
	}
}

func TestFollowRoleSourceUndoesAForcedRole(t *testing.T) {
	s, base := serve(t)
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
	must(t, s.SetRoleRows(west))
	c := client(t, base, west, mssql.ManagedInstance)
	for _, step := range []struct {
		do   func() error
		want mssql.Role
	}{
		{func() error { return nil }, mssql.RoleNone},
		{func() error { return s.FollowRoleSource(west) }, mssql.RolePrimary},
	} {
		must(t, step.do())
		if got, err := c.Role(t.Context()); got != step.want || err != nil {
			t.Errorf("role = %v, %v; want %v", got, err, step.want)
		}
	}
}

func TestRolesSwapOnTheNextCallAfterAFailover(t *testing.T) {
	s, base := serve(t)
	fg := &failoverGroup{primary: west}
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, fg.source(west)))
	must(t, s.PutSSISDB(east, mssql.ManagedInstance, fg.source(east)))
	cw, ce := client(t, base, west, mssql.ManagedInstance), client(t, base, east, mssql.ManagedInstance)
	for _, step := range []struct {
		primary    string
		west, east mssql.Role
	}{
		{west, mssql.RolePrimary, mssql.RoleSecondary},
		{east, mssql.RoleSecondary, mssql.RolePrimary},
		{west, mssql.RolePrimary, mssql.RoleSecondary},
	} {
		fg.failover(step.primary)
		w, errW := cw.Role(t.Context())
		e, errE := ce.Role(t.Context())
		if w != step.west || e != step.east || errW != nil || errE != nil {
			t.Errorf("primary %s: west %v (%v), east %v (%v); want %v, %v", step.primary, w, errW, e, errE, step.west, step.east)
		}
	}
}

func TestFollowMemberReadsTheARMStandInsFailoverGroup(t *testing.T) {
	arm := armstandin.New()
	arm.PutFailoverGroup(armstandin.FailoverGroup{
		Name: "fg-ssis", Kind: armstandin.ManagedInstance, Primary: 0,
		Members: [2]armstandin.FailoverGroupMember{
			{Group: "rg-west", Server: "mi-west", Location: "westeurope"},
			{Group: "rg-east", Server: "mi-east", Location: "northeurope"},
		},
	})
	s, base := serve(t)
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, FollowMember(arm, "fg-ssis", 0)))
	must(t, s.PutSSISDB(east, mssql.ManagedInstance, FollowMember(arm, "fg-ssis", 1)))
	must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, FollowMember(arm, "no-such-group", 0)))
	for host, want := range map[string]mssql.Role{west: mssql.RolePrimary, east: mssql.RoleSecondary, sqlw: mssql.RoleNone} {
		kind := mssql.ManagedInstance
		if host == sqlw {
			kind = mssql.SQLDatabase
		}
		got, err := client(t, base, host, kind).Role(t.Context())
		if got != want || err != nil {
			t.Errorf("%s: role = %v, %v; want %v", host, got, err, want)
		}
	}
	if got := ops(s.Calls(west)); !slices.Equal(got, []string{"role"}) {
		t.Errorf("west calls = %q, want one role", got)
	}
}

// agentHost is a Managed Instance with the schedules of mssql's tests.
func agentHost(t *testing.T) (*Server, *Client) {
	t.Helper()
	s, base := serve(t)
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
	// Put out of order: the listing is by id, as the real statement's ORDER BY is.
	must(t, s.PutSchedule(west, 4, "Weekly purge", true))
	must(t, s.PutSchedule(west, 2, "Hourly sync", false))
	must(t, s.PutSchedule(west, 3, "nightly load", false))
	must(t, s.PutSchedule(west, 1, "Nightly load", true))
	return s, client(t, base, west, mssql.ManagedInstance)
}

func TestSchedules(t *testing.T) {
	all := []mssql.Schedule{{ID: 1, Name: "Nightly load", Enabled: true}, {ID: 2, Name: "Hourly sync"}, {ID: 3, Name: "nightly load"}, {ID: 4, Name: "Weekly purge", Enabled: true}}
	tests := []struct {
		name     string
		ids      []int
		names    []string
		want     []mssql.Schedule
		wantCode drerr.Code
	}{
		{name: "no filter returns every schedule by id", want: all},
		{name: "ids select their schedules", ids: []int{4, 2}, want: []mssql.Schedule{all[1], all[3]}},
		{name: "a name matches every schedule so named, ignoring case", names: []string{"NIGHTLY LOAD"}, want: []mssql.Schedule{all[0], all[2]}},
		{name: "missing ones are NotFound with what was found", ids: []int{2, 9}, names: []string{"Gone"}, want: []mssql.Schedule{all[1]}, wantCode: drerr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := agentHost(t)
			got, err := c.Schedules(t.Context(), tt.ids, tt.names)
			checkCode(t, err, tt.wantCode)
			if !slices.Equal(got, tt.want) {
				t.Errorf("schedules = %v, want %v", got, tt.want)
			}
			if got := ops(s.Calls(west)); !slices.Equal(got, []string{"schedules"}) {
				t.Errorf("calls = %q, want one schedules call", got)
			}
		})
	}
}

func TestSetScheduleEnabled(t *testing.T) {
	tests := []struct {
		name     string
		id       int
		enabled  bool
		wantOp   string
		wantCode drerr.Code
		want     []bool // every schedule's enabled state afterwards, by id
	}{
		{name: "enabling a disabled schedule enables it", id: 3, enabled: true, wantOp: "update_schedule 3 enabled=1", want: []bool{true, false, true, true}},
		{name: "disabling an enabled schedule disables it", id: 1, enabled: false, wantOp: "update_schedule 1 enabled=0", want: []bool{false, false, false, true}},
		{name: "an unknown schedule is NotFound and changes nothing", id: 9, enabled: true, wantOp: "update_schedule 9 enabled=1",
			wantCode: drerr.NotFound, want: []bool{true, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := agentHost(t)
			checkCode(t, c.SetScheduleEnabled(t.Context(), tt.id, tt.enabled), tt.wantCode)
			var got []bool
			for _, sc := range s.Schedules(west) {
				got = append(got, sc.Enabled)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("enabled = %v, want %v", got, tt.want)
			}
			calls := s.Calls(west)
			if len(calls) != 1 || calls[0].Op != tt.wantOp || (calls[0].Error != "") != (tt.wantCode != "") {
				t.Errorf("calls = %+v, want one %q (failed: %t)", calls, tt.wantOp, tt.wantCode != "")
			}
		})
	}
}

func TestSQLDatabaseHasNoAgent(t *testing.T) {
	calls := []struct {
		name string
		call func(*Client) error
	}{
		{"Schedules", func(c *Client) error { _, err := c.Schedules(context.Background(), []int{1}, nil); return err }},
		{"SetScheduleEnabled", func(c *Client) error { return c.SetScheduleEnabled(context.Background(), 1, true) }},
	}
	for _, c := range calls {
		t.Run(c.name+" is refused without a call", func(t *testing.T) {
			s, base := serve(t)
			must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, fixed("PRIMARY", true)))
			err := c.call(client(t, base, sqlw, mssql.SQLDatabase))
			checkCode(t, err, drerr.Invalid)
			if !errors.Is(err, mssql.ErrNoAgent) {
				t.Errorf("error %v does not wrap ErrNoAgent", err)
			}
			if got := s.Calls(sqlw); len(got) != 0 {
				t.Errorf("calls = %+v, want none", got)
			}
		})
		// A client that believes the server is a Managed Instance sends the statement;
		// the server refuses it as SQL Database refuses msdb names.
		t.Run(c.name+" reaching SQL Database fails as the real one does", func(t *testing.T) {
			s, base := serve(t)
			must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, fixed("PRIMARY", true)))
			err := c.call(client(t, base, sqlw, mssql.ManagedInstance))
			checkCode(t, err, mssql.ErrorNumberCode(errNoCrossDatabase))
			got := s.Calls(sqlw)
			if len(got) != 1 || !strings.Contains(got[0].Error, "40515") {
				t.Errorf("calls = %+v, want one that raised 40515", got)
			}
		})
	}
	t.Run("a schedule cannot be put on SQL Database", func(t *testing.T) {
		s, _ := serve(t)
		must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, fixed("PRIMARY", true)))
		if err := s.PutSchedule(sqlw, 1, "Nightly", true); err == nil {
			t.Error("PutSchedule on SQL Database succeeded")
		}
	})
}

func TestFailoverIntegrationRuntime(t *testing.T) {
	tests := []struct {
		name        string
		kind        mssql.Kind
		host        string
		role        RoleSource
		factory, ir string
		wantCalls   []string
		wantCode    drerr.Code
	}{
		{name: "Managed Instance runs it with both names", kind: mssql.ManagedInstance, host: west, role: fixed("PRIMARY", true),
			factory: "adf-east", ir: "ir-east", wantCalls: []string{"failover_integration_runtime adf-east ir-east"}},
		{name: "SQL Database runs it too", kind: mssql.SQLDatabase, host: sqlw, role: fixed("PRIMARY", true),
			factory: "adf-west", ir: "ir-west", wantCalls: []string{"failover_integration_runtime adf-west ir-west"}},
		{name: "SSISDB without a link is writable", kind: mssql.ManagedInstance, host: west, role: fixed("", false),
			factory: "adf-east", ir: "ir-east", wantCalls: []string{"failover_integration_runtime adf-east ir-east"}},
		{name: "a read-only geo-secondary refuses it", kind: mssql.ManagedInstance, host: west, role: fixed("SECONDARY", true),
			factory: "adf-east", ir: "ir-east", wantCalls: []string{"failover_integration_runtime adf-east ir-east"}, wantCode: mssql.ErrorNumberCode(errReadOnly)},
		{name: "an empty factory is Invalid and sends nothing", kind: mssql.ManagedInstance, host: west, role: fixed("PRIMARY", true),
			factory: "", ir: "ir-east", wantCode: drerr.Invalid},
		{name: "an empty runtime is Invalid and sends nothing", kind: mssql.ManagedInstance, host: west, role: fixed("PRIMARY", true),
			factory: "adf-east", ir: "", wantCode: drerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := serve(t)
			must(t, s.PutSSISDB(tt.host, tt.kind, tt.role))
			err := client(t, base, tt.host, tt.kind).FailoverIntegrationRuntime(t.Context(), tt.factory, tt.ir)
			checkCode(t, err, tt.wantCode)
			if got := ops(s.Calls(tt.host)); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

// every calls each method of the client once and returns their errors by name.
func every(ctx context.Context, c *Client) map[string]error {
	_, role := c.Role(ctx)
	_, list := c.Schedules(ctx, nil, nil)
	return map[string]error{
		"Role":                       role,
		"Schedules":                  list,
		"SetScheduleEnabled":         c.SetScheduleEnabled(ctx, 1, false),
		"FailoverIntegrationRuntime": c.FailoverIntegrationRuntime(ctx, "adf-east", "ir-east"),
	}
}

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name    string
		host    string // the host the client asks
		down    func(*Server)
		restore func(*Server)
	}{
		{name: "a host switched unreachable hangs up", host: west,
			down:    func(s *Server) { s.SetUnreachable(west, true) },
			restore: func(s *Server) { s.SetUnreachable(west, false) }},
		{name: "the switch ignores case and port", host: west,
			down:    func(s *Server) { s.SetUnreachable(strings.ToUpper(west)+":3342", true) },
			restore: func(s *Server) { s.SetUnreachable(west, false) }},
		{name: "a host whose group is down hangs up", host: west,
			down: func(s *Server) {
				must(t, s.SetGroup(west, "rg-west"))
				s.SetGroupUnreachable(func(g string) bool { return g == "rg-west" })
			},
			restore: func(s *Server) { s.SetGroupUnreachable(nil) }},
		{name: "a host without an SSISDB cannot be reached", host: east},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := serve(t)
			must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
			must(t, s.PutSchedule(west, 1, "Nightly load", true))
			if tt.down != nil {
				tt.down(s)
			}
			c := client(t, base, tt.host, mssql.ManagedInstance)
			for name, err := range every(t.Context(), c) {
				if drerr.CodeOf(err) != drerr.Unreachable {
					t.Errorf("%s: %v, want Unreachable", name, err)
				}
			}
			if got := s.Calls(tt.host); len(got) != 0 {
				t.Errorf("calls = %+v, want none", got)
			}
			if tt.restore == nil {
				return
			}
			// The same client gets through once the host is back.
			tt.restore(s)
			for name, err := range every(t.Context(), c) {
				if err != nil {
					t.Errorf("%s after restore: %v", name, err)
				}
			}
		})
	}
}

func TestOurOwnCancellationIsInterrupted(t *testing.T) {
	tests := []struct {
		name string
		// ctx returns the call's context; entered receives once the server is
		// answering the call.
		ctx         func(t *testing.T, entered <-chan struct{}) context.Context
		wantReached bool
	}{
		{name: "a context cancelled before the call sends nothing", ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
		{name: "a deadline already past sends nothing", ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "a context cancelled while the server is answering", wantReached: true, ctx: func(t *testing.T, entered <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			go func() {
				<-entered
				cancel()
			}()
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The role source says it was entered, then blocks until the test ends: the
			// call is certainly in flight when the context is cancelled.
			entered, release := make(chan struct{}, 1), make(chan struct{})
			t.Cleanup(func() { close(release) })
			var reached atomic.Bool
			s, base := serve(t)
			must(t, s.PutSSISDB(west, mssql.ManagedInstance, func() (string, bool) {
				reached.Store(true)
				entered <- struct{}{}
				<-release
				return "PRIMARY", true
			}))
			got, err := client(t, base, west, mssql.ManagedInstance).Role(tt.ctx(t, entered))
			if got != mssql.RoleUnknown {
				t.Errorf("role = %v, want Unknown", got)
			}
			checkCode(t, err, drerr.Interrupted)
			if reached.Load() != tt.wantReached {
				t.Errorf("server reached = %t, want %t", reached.Load(), tt.wantReached)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name, base, host string
		kind             mssql.Kind
		ok               bool
	}{
		{name: "a loopback stand-in", base: "http://127.0.0.1:8080", host: west, kind: mssql.ManagedInstance, ok: true},
		{name: "IPv6 loopback with a trailing slash", base: "http://[::1]:8080/", host: sqlw, kind: mssql.SQLDatabase, ok: true},
		{name: "a host with its port", base: "http://127.0.0.1:8080", host: "mi.public.abc.database.windows.net:3342", kind: mssql.ManagedInstance, ok: true},
		{name: "a remote host is refused", base: "http://sqlstandin.example.com:8080", host: west, kind: mssql.ManagedInstance},
		{name: "a remote IP is refused", base: "http://10.0.0.7:8080", host: west, kind: mssql.ManagedInstance},
		{name: "localhost by name is refused", base: "http://localhost:8080", host: west, kind: mssql.ManagedInstance},
		{name: "HTTPS is refused: the stand-in serves plain HTTP", base: "https://127.0.0.1:8080", host: west, kind: mssql.ManagedInstance},
		{name: "a user in the URL is refused", base: "http://user:pw@127.0.0.1:8080", host: west, kind: mssql.ManagedInstance},
		{name: "a query is refused", base: "http://127.0.0.1:8080?x=1", host: west, kind: mssql.ManagedInstance},
		{name: "a bad host is refused", base: "http://127.0.0.1:8080", host: "x;password=pw", kind: mssql.ManagedInstance},
		{name: "an unknown kind is refused", base: "http://127.0.0.1:8080", host: west},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.base, tt.host, tt.kind)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewClient: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("NewClient succeeded, want an error")
			}
			checkCode(t, err, drerr.Invalid)
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error echoes its input: %v", err)
			}
		})
	}
}
