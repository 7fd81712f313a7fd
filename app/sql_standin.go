//go:build standin

package app

import (
	"integration-dr/dev/sqlstandin"
	"integration-dr/mssql"
	"integration-dr/ssis"
)

// sqlOpener sends SSISDB's statements to the in-memory stand-in at DR_SQL_STANDIN (a
// loopback URL) when it is set. Only the tests' and the demo's build has this file:
// no SQL Server engine runs on a development machine.
func sqlOpener(getenv func(string) string, clientID string) (openDatabase, error) {
	base := getenv(EnvSQLStandin)
	if base == "" {
		return openMSSQL(clientID), nil
	}
	return func(endpoint string, kind mssql.Kind) (ssis.Database, error) {
		return sqlstandin.NewClient(base, endpoint, kind)
	}, nil
}
