//go:build !standin

package app

import "fmt"

// sqlOpener is go-mssqldb with the app's identity. DR_SQL_STANDIN is refused: this
// build cannot reach a stand-in, and silently ignoring the setting would hide a
// configuration meant for a test machine.
func sqlOpener(getenv func(string) string, clientID string) (openDatabase, error) {
	if getenv(EnvSQLStandin) != "" {
		return nil, fmt.Errorf("%s is set, but this build has no SQL stand-in (only a build with -tags standin has, for local tests)", EnvSQLStandin)
	}
	return openMSSQL(clientID), nil
}
