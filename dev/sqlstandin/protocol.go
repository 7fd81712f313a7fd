package sqlstandin

import "fmt"

// The wire types of the protocol, shared by Server and Client.

type roleReply struct {
	Rows []string `json:"rows"` // role_desc values; empty is no row
}

type scheduleRow struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

type schedulesReply struct {
	Rows []scheduleRow `json:"rows"`
}

type enabledBody struct {
	Enabled *bool `json:"enabled"` // a pointer, so that a missing field is refused, not read as false
}

type failoverBody struct {
	DataFactory        string `json:"dataFactory"`
	IntegrationRuntime string `json:"integrationRuntime"`
}

type errorReply struct {
	Error sqlError `json:"error"`
}

// sqlError is an error a statement raised: Number is SQL Server's error number (0
// for a request the protocol refuses), so that Client classifies it exactly as
// mssql.DB classifies the driver's error.
type sqlError struct {
	Number  int32  `json:"number"`
	Message string `json:"message"`
}

func (e *sqlError) Error() string {
	if e.Number == 0 {
		return e.Message
	}
	return fmt.Sprintf("SQL error %d: %s", e.Number, e.Message)
}

// SQL Server error numbers the stand-in raises, as the real server would.
const (
	errScheduleNotFound = 14262 // The specified @schedule_id ('%s') does not exist.
	errNoCrossDatabase  = 40515 // Reference to database and/or server name in '%.*ls' is not supported in this version of SQL Server.
	errReadOnly         = 3906  // Failed to update database "%.*ls" because the database is read-only.
)
