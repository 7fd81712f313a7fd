// Package sqlstandin is a dev/test-only stand-in for SSISDB. No SQL Server engine can
// run on a development machine, so end-to-end tests serve an in-memory SSISDB per SQL
// endpoint host over HTTP on 127.0.0.1 (Server), and a development build of the
// handler reaches it through Client, which implements ssis.Database with the
// semantics and error codes of mssql.DB: it shares mssql's pure helpers (RoleOf,
// SelectSchedules, RequireAgent, ErrorNumberCode, SplitServer) rather than
// re-implementing them. What the server answers is what the real statements return:
// role_desc rows, sysschedules rows, and SQL Server's error numbers.
//
// Product code must never import this package.
//
// # Protocol
//
// JSON over HTTP; {host} is the SQL endpoint host name without a port
// ("sqlwest.database.windows.net"), compared case-insensitively.
//
//	GET  /{host}/role                          200 {"rows":["PRIMARY"]}; "rows":[] is no row
//	GET  /{host}/schedules                     200 {"rows":[{"id":1,"name":"Nightly","enabled":true}]}, by id
//	POST /{host}/schedules/{id}                body {"enabled":true}; 204
//	POST /{host}/failover-integration-runtime  body {"dataFactory":"adf-east","integrationRuntime":"ir-east"}; 204
//	GET  /{host}/jobs                          200 {"rows":[{"name":"Load","enabled":true,...,"steps":[...],"schedules":[...]}]}, by name
//
// A statement the real server would refuse is answered with
// {"error":{"number":N,"message":"..."}}, N being the SQL Server error number it
// would raise: 14262 (404) for a schedule that does not exist, 40515 (400) for msdb
// on Azure SQL Database, which has none, and 3906 (400) for
// failover_integration_runtime on a geo-secondary, which is read-only. A request the
// protocol does not allow is answered with number 0 (400), a host with no SSISDB
// with number 0 (502, as a name that does not resolve is a connection failure), and
// an unreachable host by closing the connection without an answer.
package sqlstandin
