package localstack

import (
	"fmt"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/sqlstandin"
	"integration-dr/mssql"
)

// The demo's SSIS pair: a SQL Managed Instance failover group between West Europe
// (primary) and North Europe, an Azure-SSIS IR and a data factory on each side.
const (
	SSISPairName       = "contoso-ssis"
	SSISPrimaryGroup   = "ssis-westeurope"
	SSISSecondaryGroup = "ssis-northeurope"
	SSISFailoverGroup  = "fg-ssisdb"
	SSISTrigger        = "nightly-load"
	SSISAnnotation     = "dr-follows-ssisdb"
	SSISSchedule       = "SSIS nightly load"
	SSISScheduleID     = 12
)

// SSISSide is one side of the demo's SSIS pair, by the names its resources have.
type SSISSide struct {
	Group, Location, Instance, Factory, IR, Endpoint string
	// Member is the side's index in the failover group's members.
	Member int
}

// SSISSides are the demo pair's primary and secondary sides.
var SSISSides = [2]SSISSide{
	{Group: SSISPrimaryGroup, Location: "westeurope", Instance: "contoso-mi-weu", Factory: "contoso-adf-weu", IR: "ssis-ir-weu", Endpoint: "contoso-mi-weu.public.local.database.windows.net:3342", Member: 0},
	{Group: SSISSecondaryGroup, Location: "northeurope", Instance: "contoso-mi-neu", Factory: "contoso-adf-neu", IR: "ssis-ir-neu", Endpoint: "contoso-mi-neu.public.local.database.windows.net:3342", Member: 1},
}

// FailoverGroupID is the failover group's resource ID through a side's location.
func (s SSISSide) FailoverGroupID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Sql/locations/%s/instanceFailoverGroups/%s", Subscription, s.Group, s.Location, SSISFailoverGroup)
}

// FactoryID is the side's data factory's resource ID.
func (s SSISSide) FactoryID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DataFactory/factories/%s", Subscription, s.Group, s.Factory)
}

// SeedSSIS sets the pair up converged, as the guide leaves it: the primary side's
// SSISDB primary, its runtime started, its trigger started and schedule enabled; the
// secondary's trigger stopped, schedule disabled, and runtime as standby says
// ("running" or "stopped"). Each SSISDB follows its failover group member, so a
// failover of the group changes what sys.dm_geo_replication_link_status says.
func SeedSSIS(arm *armstandin.Server, sql *sqlstandin.Server, standby string) error {
	arm.PutFailoverGroup(armstandin.FailoverGroup{
		Name: SSISFailoverGroup, Kind: armstandin.ManagedInstance, Primary: 0,
		Members: [2]armstandin.FailoverGroupMember{
			{Group: SSISSides[0].Group, Server: SSISSides[0].Instance, Location: SSISSides[0].Location},
			{Group: SSISSides[1].Group, Server: SSISSides[1].Instance, Location: SSISSides[1].Location},
		},
	})
	sql.SetGroupUnreachable(func(group string) bool { return arm.GroupUnreachable(group) })
	for i, s := range SSISSides {
		primary := i == 0
		ir, trigger := "Started", "Started"
		if !primary {
			trigger = "Stopped"
			if standby == "stopped" {
				ir = "Stopped"
			}
		}
		arm.PutIntegrationRuntime(s.Group, s.Factory, s.IR, ir)
		arm.PutTrigger(s.Group, s.Factory, SSISTrigger, trigger)
		arm.PutTrigger(s.Group, s.Factory, "weekly-archive", trigger, SSISAnnotation)
		// A trigger the pair does not own: it must be left alone.
		arm.PutTrigger(s.Group, s.Factory, "adhoc-export", "Started")
		if err := sql.PutSSISDB(s.Endpoint, mssql.ManagedInstance, sqlstandin.FollowMember(arm, SSISFailoverGroup, s.Member)); err != nil {
			return err
		}
		if err := sql.SetGroup(s.Endpoint, s.Group); err != nil {
			return err
		}
		if err := sql.PutSchedule(s.Endpoint, SSISScheduleID, SSISSchedule, primary); err != nil {
			return err
		}
	}
	return nil
}

// SSISTopology is the ssisPairs entry of DR_TOPOLOGY for the demo's SSIS pair.
func SSISTopology(standby string) map[string]any {
	side := func(s SSISSide) map[string]any {
		return map[string]any{
			"failoverGroup": s.FailoverGroupID(), "sqlEndpoint": s.Endpoint,
			"dataFactory": s.FactoryID(), "integrationRuntime": s.IR,
			"triggers": []string{SSISTrigger}, "triggerAnnotation": SSISAnnotation, "schedules": []any{SSISSchedule},
		}
	}
	return map[string]any{"name": SSISPairName, "standbyIR": standby, "primary": side(SSISSides[0]), "secondary": side(SSISSides[1])}
}
