package mssql_test

import (
	"strings"
	"testing"

	"integration-dr/mssql"
)

// An SSIS job step sets package and project parameters with dtexec's /Par (and
// variables with /SET), the value after the ';'. A sensitive one — a password, an API
// key — is written there in clear, and the step's script is what the drift report,
// the mirror's journaled plan, drctl drift and the status document carry. Only
// /DECRYPT and name=value pairs are masked today, so the value below reaches all of
// them.
func TestAJobScriptDoesNotCarryAPasswordSetByParOrSet(t *testing.T) {
	secrets := map[string]string{
		"/Par": `/ISSERVER "\"\SSISDB\Finance\Loads\Load.dtsx\"" /SERVER "\"mi-weu.database.windows.net\"" /Par "\"$Project::SftpPassword\"";"Sup3rS3cret!" /Par "\"$ServerOption::SYNCHRONIZED(Boolean)\"";True /CALLERINFO SQLAGENT /REPORTING E`,
		"/SET": `/SQL "\"\Load\"" /SERVER mi-weu /SET "\Package.Variables[User::ApiKey].Value";"k3y-v@lue-9f2" /REPORTING E`,
	}
	values := map[string]string{"/Par": "Sup3rS3cret!", "/SET": "k3y-v@lue-9f2"}
	for how, cmd := range secrets {
		t.Run(how, func(t *testing.T) {
			j := mssql.AgentJob{Name: "Load finance", Enabled: true, Steps: []mssql.JobStep{{ID: 1, Name: "Run package", Subsystem: "SSIS", Command: cmd, OnSuccess: 1, OnFail: 2}}}
			if s := j.Script(); strings.Contains(s, values[how]) {
				t.Errorf("the job's script carries the secret set with %s in clear: %s", how, s)
			}
		})
	}
}
