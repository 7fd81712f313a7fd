// Package sqlfg reads and fails over one side of a SQL failover group through ARM
// (armsql): a server's failover group (Azure SQL Database) or an instance failover
// group in a region (SQL Managed Instance). It is the only package that touches armsql.
package sqlfg

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"

	"integration-dr/azure/azerr"
	"integration-dr/azure/lro"
	"integration-dr/drerr"
	"integration-dr/ssis"
)

// Kind is which kind of failover group an ID names.
type Kind string

// The kinds.
const (
	// Database is an Azure SQL Database server's failover group,
	// Microsoft.Sql/servers/failoverGroups.
	Database Kind = "Database"
	// ManagedInstance is a SQL Managed Instance failover group,
	// Microsoft.Sql/locations/instanceFailoverGroups.
	ManagedInstance Kind = "ManagedInstance"
)

// The resource types, as ParseID compares them (case-insensitively).
const (
	databaseType        = "Microsoft.Sql/servers/failoverGroups"
	managedInstanceType = "Microsoft.Sql/locations/instanceFailoverGroups"
	expectedShapes      = "/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Sql/servers/{server}/failoverGroups/{group} or " +
		"/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Sql/locations/{location}/instanceFailoverGroups/{group}"
)

// ID is one side's failover group resource ID, taken apart.
type ID struct {
	Kind           Kind
	SubscriptionID string
	ResourceGroup  string
	// Server is the side's logical server (Database only).
	Server string
	// Location is the side's region (ManagedInstance only): ARM names an instance
	// failover group by the region it is read in, not by an instance.
	Location string
	// Name is the failover group's name, the same on both sides.
	Name string
}

// ParseID checks that resourceID names a failover group of either kind and takes it
// apart; any other shape is drerr.Invalid.
func ParseID(resourceID string) (ID, error) {
	const op = "parse failover group id"
	id, err := arm.ParseResourceID(resourceID)
	if err != nil {
		return ID{}, drerr.Errorf(drerr.Invalid, op, "%q: %v; want %s", resourceID, err, expectedShapes)
	}
	var out ID
	switch typ := id.ResourceType.String(); {
	case strings.EqualFold(typ, databaseType):
		out = ID{Kind: Database, Server: id.Parent.Name}
	case strings.EqualFold(typ, managedInstanceType):
		out = ID{Kind: ManagedInstance, Location: id.Parent.Name}
	default:
		return ID{}, drerr.Errorf(drerr.Invalid, op, "%q is a %s; want %s", resourceID, typ, expectedShapes)
	}
	out.SubscriptionID, out.ResourceGroup, out.Name = id.SubscriptionID, id.ResourceGroupName, id.Name
	// ParseResourceID accepts a path that stops at the collection or skips the
	// resource group; neither names a failover group.
	if out.SubscriptionID == "" || out.ResourceGroup == "" || id.Parent.Name == "" || out.Name == "" {
		return ID{}, drerr.Errorf(drerr.Invalid, op, "%q lacks a subscription, resource group, parent or name; want %s", resourceID, expectedShapes)
	}
	return out, nil
}

// FailoverGroup is a failover group as one side answers for it. Exactly one of
// servers and instances is set, by the ID's kind.
type FailoverGroup struct {
	id        ID
	servers   *armsql.FailoverGroupsClient
	instances *armsql.InstanceFailoverGroupsClient
	// endpoint is the ARM endpoint the clients call, which a resume token must poll.
	endpoint *url.URL
}

var _ ssis.FailoverGroup = (*FailoverGroup)(nil)

// New returns the failover group named by one side's resource ID (see ParseID).
func New(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*FailoverGroup, error) {
	id, err := ParseID(resourceID)
	if err != nil {
		return nil, err
	}
	const op = "failover group client"
	g := &FailoverGroup{id: id}
	switch id.Kind {
	case Database:
		g.servers, err = armsql.NewFailoverGroupsClient(id.SubscriptionID, cred, opts)
	case ManagedInstance:
		g.instances, err = armsql.NewInstanceFailoverGroupsClient(id.SubscriptionID, cred, opts)
	}
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	// A bare client resolves the endpoint exactly as the generated ones do.
	raw, err := arm.NewClient("armsql", "v1.2.0", cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	if g.endpoint, err = url.Parse(raw.Endpoint()); err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	return g, nil
}

// where names this side in messages.
func (g *FailoverGroup) where() string {
	if g.id.Kind == Database {
		return fmt.Sprintf("failover group %s on server %s", g.id.Name, g.id.Server)
	}
	return fmt.Sprintf("instance failover group %s in %s", g.id.Name, g.id.Location)
}

// Roles reads this side's replication role and its partner's. A role ARM leaves out
// or reports in a form not known here is ssis.Unknown, which callers never act on.
func (g *FailoverGroup) Roles(ctx context.Context) (self, partner ssis.Role, err error) {
	op := "get " + g.where()
	var partners []ssis.Role
	if g.servers != nil {
		resp, err := g.servers.Get(ctx, g.id.ResourceGroup, g.id.Server, g.id.Name, nil)
		if err != nil {
			return ssis.Unknown, ssis.Unknown, azerr.Wrap(op, err)
		}
		p := resp.Properties
		if p == nil {
			return ssis.Unknown, ssis.Unknown, nil
		}
		for _, s := range p.PartnerServers {
			if s != nil {
				partners = append(partners, roleOf(s.ReplicationRole))
			}
		}
		return roleOf(p.ReplicationRole), partnerRole(partners), nil
	}
	resp, err := g.instances.Get(ctx, g.id.ResourceGroup, g.id.Location, g.id.Name, nil)
	if err != nil {
		return ssis.Unknown, ssis.Unknown, azerr.Wrap(op, err)
	}
	p := resp.Properties
	if p == nil {
		return ssis.Unknown, ssis.Unknown, nil
	}
	for _, r := range p.PartnerRegions {
		if r != nil {
			partners = append(partners, roleOf(r.ReplicationRole))
		}
	}
	return roleOf(p.ReplicationRole), partnerRole(partners), nil
}

// roleOf maps an ARM replication role, of either client's type, to a Role.
func roleOf[R ~string](r *R) ssis.Role {
	switch {
	case r == nil:
		return ssis.Unknown
	case strings.EqualFold(string(*r), string(ssis.Primary)):
		return ssis.Primary
	case strings.EqualFold(string(*r), string(ssis.Secondary)):
		return ssis.Secondary
	}
	return ssis.Unknown
}

// partnerRole is the partners' common role. A failover group has one partner; should
// ARM list several that disagree, the answer is Unknown rather than a guess.
func partnerRole(roles []ssis.Role) ssis.Role {
	if len(roles) == 0 {
		return ssis.Unknown
	}
	for _, r := range roles[1:] {
		if r != roles[0] {
			return ssis.Unknown
		}
	}
	return roles[0]
}

// BeginFailover asks this side, the secondary, to become primary: a planned failover,
// or one allowing data loss when force is set. It returns at ARM's first answer, with
// "" when that answer was final, else a resume token for PollFailover on any
// FailoverGroup of the same kind.
func (g *FailoverGroup) BeginFailover(ctx context.Context, force bool) (string, error) {
	verb := verbPlanned
	if force {
		verb = verbForce
	}
	op := fmt.Sprintf("%s failover of %s", verb, g.where())
	rg, parent, name := g.id.ResourceGroup, g.id.Server, g.id.Name
	switch {
	case g.servers != nil && force:
		p, err := g.servers.BeginForceFailoverAllowDataLoss(ctx, rg, parent, name, nil)
		return lro.Started(ctx, op, verb, p, err)
	case g.servers != nil:
		p, err := g.servers.BeginFailover(ctx, rg, parent, name, nil)
		return lro.Started(ctx, op, verb, p, err)
	}
	parent = g.id.Location
	if force {
		p, err := g.instances.BeginForceFailoverAllowDataLoss(ctx, rg, parent, name, nil)
		return lro.Started(ctx, op, verb, p, err)
	}
	p, err := g.instances.BeginFailover(ctx, rg, parent, name, nil)
	return lro.Started(ctx, op, verb, p, err)
}

// PollFailover looks once at the failover a BeginFailover token stands for: done once
// it finished, with an error if it failed. A token this adapter cannot resume (not its
// format, another kind's, or polling another host) is drerr.Invalid.
func (g *FailoverGroup) PollFailover(ctx context.Context, token string) (bool, error) {
	op := "poll failover of " + g.where()
	verb, sdk, err := lro.SplitToken(op, token, g.endpoint, verbPlanned, verbForce)
	if err != nil {
		return false, err
	}
	rg, parent, name := g.id.ResourceGroup, g.id.Server, g.id.Name
	switch {
	case g.servers != nil && verb == verbForce:
		p, err := g.servers.BeginForceFailoverAllowDataLoss(ctx, rg, parent, name, &armsql.FailoverGroupsClientBeginForceFailoverAllowDataLossOptions{ResumeToken: sdk})
		return lro.PollOnce(ctx, op, p, err)
	case g.servers != nil:
		p, err := g.servers.BeginFailover(ctx, rg, parent, name, &armsql.FailoverGroupsClientBeginFailoverOptions{ResumeToken: sdk})
		return lro.PollOnce(ctx, op, p, err)
	}
	parent = g.id.Location
	if verb == verbForce {
		p, err := g.instances.BeginForceFailoverAllowDataLoss(ctx, rg, parent, name, &armsql.InstanceFailoverGroupsClientBeginForceFailoverAllowDataLossOptions{ResumeToken: sdk})
		return lro.PollOnce(ctx, op, p, err)
	}
	p, err := g.instances.BeginFailover(ctx, rg, parent, name, &armsql.InstanceFailoverGroupsClientBeginFailoverOptions{ResumeToken: sdk})
	return lro.PollOnce(ctx, op, p, err)
}
