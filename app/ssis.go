package app

import (
	"fmt"
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"integration-dr/azure/datafactory"
	"integration-dr/azure/sqlfg"
	"integration-dr/azure/tables"
	"integration-dr/config"
	"integration-dr/journal"
	"integration-dr/mssql"
	"integration-dr/ssis"
)

// openDatabase opens SSISDB at a SQL endpoint.
type openDatabase func(endpoint string, kind mssql.Kind) (ssis.Database, error)

// openMSSQL signs in to SSISDB with the app's managed identity.
func openMSSQL(clientID string) openDatabase {
	return func(endpoint string, kind mssql.Kind) (ssis.Database, error) {
		return mssql.Open(mssql.Config{Server: endpoint, ClientID: clientID, Kind: kind})
	}
}

// ssisRunner builds the SSIS reconciler and command runner from the configuration.
func ssisRunner(cfg config.Config, jrnl *tables.Journal, cred azcore.TokenCredential, armOpts *arm.ClientOptions, open openDatabase, log *slog.Logger) (*ssis.Runner, error) {
	pairs := map[string]ssis.Pair{}
	for _, p := range cfg.SSISPairs {
		kind := mssql.SQLDatabase
		if p.ManagedInstance {
			kind = mssql.ManagedInstance
		}
		pair := ssis.Pair{Name: p.Name, Kind: kind, Standby: ssis.Policy(p.StandbyIR), Sides: map[ssis.Side]ssis.Endpoint{}}
		for side, s := range map[ssis.Side]config.SSISSide{ssis.SidePrimary: p.Primary, ssis.SideSecondary: p.Secondary} {
			e, err := ssisEndpoint(s, kind, cred, armOpts, open)
			if err != nil {
				return nil, fmt.Errorf("SSIS pair %s, %s side: %w", p.Name, side, err)
			}
			pair.Sides[side] = e
		}
		pairs[p.Name] = pair
	}
	rec := &ssis.Reconciler{Store: tables.OpenSSIS(jrnl), Journal: journal.Store(jrnl), Pairs: pairs, Log: log}
	return &ssis.Runner{Reconciler: rec}, nil
}

func ssisEndpoint(s config.SSISSide, kind mssql.Kind, cred azcore.TokenCredential, armOpts *arm.ClientOptions, open openDatabase) (ssis.Endpoint, error) {
	group, err := sqlfg.New(s.FailoverGroup, cred, armOpts)
	if err != nil {
		return ssis.Endpoint{}, err
	}
	factory, err := datafactory.New(s.DataFactory, cred, armOpts)
	if err != nil {
		return ssis.Endpoint{}, err
	}
	e := ssis.Endpoint{
		Group: group, Factory: factory, IR: s.IntegrationRuntime,
		Triggers: s.Triggers, TriggerAnnotation: s.TriggerAnnotation,
		ScheduleIDs: s.ScheduleIDs, ScheduleNames: s.ScheduleNames,
	}
	if s.SQLEndpoint != "" {
		if e.DB, err = open(s.SQLEndpoint, kind); err != nil {
			return ssis.Endpoint{}, err
		}
	}
	return e, nil
}
