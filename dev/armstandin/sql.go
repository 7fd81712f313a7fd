package armstandin

import (
	"context"
	"net/http"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
)

// SQL failover groups, as armsql v1.2.0 (api-version 2020-11-01-preview) reads and
// fails them over. A failover group has two members; either answers a GET for both
// (its own role, its partner's), and a failover is asked of the secondary, the
// target. The roles swap when the failover's long-running operation completes; until
// then both members report ReplicationState PENDING.
//
// Error codes: a failover or forced failover asked of the primary is refused with 400
// FailoverGroupFailoverRequestOnPrimary (Azure SQL's own code for it); one asked while
// another is in progress with 409 FailoverGroupOperationInProgress; a failover group
// or member not set up with 404 ResourceNotFound.

// FailoverGroupKind is which kind of failover group: which ARM resource serves it.
type FailoverGroupKind string

// The kinds.
const (
	// SQLDatabase is an Azure SQL Database failover group,
	// .../providers/Microsoft.Sql/servers/{server}/failoverGroups/{name}.
	SQLDatabase FailoverGroupKind = "SQLDatabase"
	// ManagedInstance is a SQL Managed Instance failover group,
	// .../providers/Microsoft.Sql/locations/{location}/instanceFailoverGroups/{name}.
	ManagedInstance FailoverGroupKind = "ManagedInstance"
)

// The replication roles, as ARM reports them.
const (
	RolePrimary   = "Primary"
	RoleSecondary = "Secondary"
)

// The replication states a member reports.
const (
	ReplicationCatchUp = "CATCH_UP" // replicating
	ReplicationPending = "PENDING"  // a failover is in progress
)

// FailoverGroupMember is one side of a failover group.
type FailoverGroupMember struct {
	Group string // the resource group
	// Server is the logical server (SQL Database: the {server} its requests name), or
	// the managed instance (Managed Instance: named only in ManagedInstancePairs).
	Server string
	// Location is the region: reported as the partner's location; for a Managed
	// Instance failover group also the {location} its requests name.
	Location string
}

// FailoverGroup sets up a failover group.
type FailoverGroup struct {
	Name    string // the same on both members
	Kind    FailoverGroupKind
	Members [2]FailoverGroupMember
	Primary int // the index in Members of the member holding the Primary role
}

// failoverGroup is a failover group as the stand-in keeps it.
type failoverGroup struct {
	FailoverGroup
	failing bool // a failover is in progress
	forced  int  // forced failovers accepted
}

// PutFailoverGroup creates or replaces a failover group (by name, case-insensitively),
// with no failover in progress.
func (s *Server) PutFailoverGroup(fg FailoverGroup) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	s.ssis.fgs[strings.ToLower(fg.Name)] = &failoverGroup{FailoverGroup: fg}
}

// FailoverGroupRoles returns each member's role (RolePrimary, RoleSecondary), in the
// order of FailoverGroup.Members, and whether the failover group exists.
func (s *Server) FailoverGroupRoles(name string) ([2]string, bool) {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	fg, ok := s.ssis.fgs[strings.ToLower(name)]
	if !ok {
		return [2]string{}, false
	}
	return [2]string{fg.role(0), fg.role(1)}, true
}

// MemberRole returns the current role of member (0 or 1, as in FailoverGroup.Members)
// of a failover group, and whether both exist. It is the hook through which a stand-in
// for the databases (dev/sqlstandin) makes SSISDB's geo-replication role follow the
// failover group: it reads the role at each query and needs no notification, and can
// depend on interface{ MemberRole(string, int) (string, bool) } rather than on this
// package. The role changes when a failover completes, on both members at once.
func (s *Server) MemberRole(fgName string, member int) (string, bool) {
	roles, ok := s.FailoverGroupRoles(fgName)
	if !ok || member < 0 || member > 1 {
		return "", false
	}
	return roles[member], true
}

// ForcedFailovers returns how many forced failovers (ForceFailoverAllowDataLoss) of a
// failover group were accepted.
func (s *Server) ForcedFailovers(fgName string) int {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	if fg, ok := s.ssis.fgs[strings.ToLower(fgName)]; ok {
		return fg.forced
	}
	return 0
}

func (fg *failoverGroup) role(i int) string {
	if i == fg.Primary {
		return RolePrimary
	}
	return RoleSecondary
}

func (fg *failoverGroup) state() string {
	if fg.failing {
		return ReplicationPending
	}
	return ReplicationCatchUp
}

// memberLocked finds the failover group a request names, and the member it is asked
// of: by (group, server) for SQL Database, by (group, location) for Managed Instance.
// Callers hold s.ssis.mu.
func (st *ssisState) memberLocked(kind FailoverGroupKind, group, where, name string) (*failoverGroup, int, bool) {
	fg, ok := st.fgs[strings.ToLower(name)]
	if !ok || fg.Kind != kind {
		return nil, 0, false
	}
	for i, m := range fg.Members {
		at := m.Server
		if kind == ManagedInstance {
			at = m.Location
		}
		if strings.EqualFold(m.Group, group) && strings.EqualFold(at, where) {
			return fg, i, true
		}
	}
	return nil, 0, false
}

// subscription is the subscription a request's path names.
func subscription(r *http.Request) string {
	sub, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/subscriptions/"), "/")
	return sub
}

func rgPrefix(sub, group string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/Microsoft.Sql/"
}

// sqlDBView is a SQL Database failover group as member i reports it.
func (fg *failoverGroup) sqlDBView(sub string, i int) armsql.FailoverGroup {
	me, partner := fg.Members[i], fg.Members[1-i]
	return armsql.FailoverGroup{
		ID:       to.Ptr(rgPrefix(sub, me.Group) + "servers/" + me.Server + "/failoverGroups/" + fg.Name),
		Name:     to.Ptr(fg.Name),
		Type:     to.Ptr("Microsoft.Sql/servers/failoverGroups"),
		Location: to.Ptr(me.Location),
		Properties: &armsql.FailoverGroupProperties{
			ReplicationRole:  to.Ptr(armsql.FailoverGroupReplicationRole(fg.role(i))),
			ReplicationState: to.Ptr(fg.state()),
			PartnerServers: []*armsql.PartnerInfo{{
				ID:              to.Ptr(rgPrefix(sub, partner.Group) + "servers/" + partner.Server),
				Location:        to.Ptr(partner.Location),
				ReplicationRole: to.Ptr(armsql.FailoverGroupReplicationRole(fg.role(1 - i))),
			}},
			ReadWriteEndpoint: &armsql.FailoverGroupReadWriteEndpoint{FailoverPolicy: to.Ptr(armsql.ReadWriteEndpointFailoverPolicyManual)},
		},
	}
}

// miView is a Managed Instance failover group as member i reports it.
// ManagedInstancePairs names the current primary's instance first.
func (fg *failoverGroup) miView(sub string, i int) armsql.InstanceFailoverGroup {
	me, partner := fg.Members[i], fg.Members[1-i]
	primary, secondary := fg.Members[fg.Primary], fg.Members[1-fg.Primary]
	instance := func(m FailoverGroupMember) *string {
		return to.Ptr(rgPrefix(sub, m.Group) + "managedInstances/" + m.Server)
	}
	return armsql.InstanceFailoverGroup{
		ID:   to.Ptr(rgPrefix(sub, me.Group) + "locations/" + me.Location + "/instanceFailoverGroups/" + fg.Name),
		Name: to.Ptr(fg.Name),
		Type: to.Ptr("Microsoft.Sql/locations/instanceFailoverGroups"),
		Properties: &armsql.InstanceFailoverGroupProperties{
			ReplicationRole:  to.Ptr(armsql.InstanceFailoverGroupReplicationRole(fg.role(i))),
			ReplicationState: to.Ptr(fg.state()),
			PartnerRegions: []*armsql.PartnerRegionInfo{{
				Location:        to.Ptr(partner.Location),
				ReplicationRole: to.Ptr(armsql.InstanceFailoverGroupReplicationRole(fg.role(1 - i))),
			}},
			ManagedInstancePairs: []*armsql.ManagedInstancePairInfo{{
				PrimaryManagedInstanceID: instance(primary),
				PartnerManagedInstanceID: instance(secondary),
			}},
			ReadWriteEndpoint: &armsql.InstanceFailoverGroupReadWriteEndpoint{FailoverPolicy: to.Ptr(armsql.ReadWriteEndpointFailoverPolicyManual)},
		},
	}
}

// view is the failover group as member i reports it, in its kind's model.
func (fg *failoverGroup) view(sub string, i int) any {
	if fg.Kind == ManagedInstance {
		return fg.miView(sub, i)
	}
	return fg.sqlDBView(sub, i)
}

func (s *Server) failoverGroupsServer(r *http.Request) *sqlfake.FailoverGroupsServer {
	return &sqlfake.FailoverGroupsServer{
		Get: func(_ context.Context, group, server, name string, _ *armsql.FailoverGroupsClientGetOptions) (resp azfake.Responder[armsql.FailoverGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			s.ssis.mu.Lock()
			defer s.ssis.mu.Unlock()
			fg, i, ok := s.ssis.memberLocked(SQLDatabase, group, server, name)
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armsql.FailoverGroupsClientGetResponse{FailoverGroup: fg.sqlDBView(subscription(r), i)}, nil)
			return
		},
	}
}

func (s *Server) instanceFailoverGroupsServer(r *http.Request) *sqlfake.InstanceFailoverGroupsServer {
	return &sqlfake.InstanceFailoverGroupsServer{
		Get: func(_ context.Context, group, location, name string, _ *armsql.InstanceFailoverGroupsClientGetOptions) (resp azfake.Responder[armsql.InstanceFailoverGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			s.ssis.mu.Lock()
			defer s.ssis.mu.Unlock()
			fg, i, ok := s.ssis.memberLocked(ManagedInstance, group, location, name)
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armsql.InstanceFailoverGroupsClientGetResponse{InstanceFailoverGroup: fg.miView(subscription(r), i)}, nil)
			return
		},
	}
}

// failover serves POST .../failover and .../forceFailoverAllowDataLoss on the member
// (group, where) of failover group name: a long-running operation that makes that
// member primary. A forced failover needs nothing of the old primary; neither does a
// planned one here (the stand-in does not model the data sync it waits for).
func (s *Server) failover(kind FailoverGroupKind, group, where, name string, force bool) handler {
	return func(r *http.Request) (*http.Response, error) {
		s.ssis.mu.Lock()
		defer s.ssis.mu.Unlock()
		fg, i, ok := s.ssis.memberLocked(kind, group, where, name)
		switch {
		case !ok:
			return answerError(http.StatusNotFound, "ResourceNotFound", "no failover group "+name+" on "+group+"/"+where)
		case fg.failing:
			return answerError(http.StatusConflict, "FailoverGroupOperationInProgress", "a failover of "+fg.Name+" is in progress")
		case i == fg.Primary:
			return answerError(http.StatusBadRequest, "FailoverGroupFailoverRequestOnPrimary", "The failover request should be initiated on the secondary server of failover group.")
		}
		op := "failoverGroups.failover"
		if force {
			op = "failoverGroups.forceFailover"
			fg.forced++
		}
		target := fg.Members[i]
		s.recordLocked(group, op, fg.Name, map[string]string{"target": target.Group + "/" + where})
		fg.failing = true
		sub := subscription(r)
		return s.beginLocked(r, &operation{
			op: op, group: group, name: fg.Name,
			complete: func() { fg.Primary, fg.failing = i, false },
			result:   func() (int, any) { return http.StatusOK, fg.view(sub, i) },
		})
	}
}
