package mssql

// Every T-SQL statement this package sends lives here, so that review and the tests
// see exactly what reaches the server. Parameters are positional (@p1, @p2, …), the
// form go-mssqldb binds ordinal arguments to; nothing is ever spliced into the text.
const (
	// roleMI reads SSISDB's geo-replication role on Managed Instance, where a
	// three-part name reaches SSISDB from any database of the connection.
	roleMI = `SELECT role_desc FROM SSISDB.sys.dm_geo_replication_link_status WHERE partner_database = 'SSISDB'`

	// roleSQLDB reads the role on Azure SQL Database, where the connection is to
	// SSISDB itself (no cross-database names there).
	roleSQLDB = `SELECT role_desc FROM sys.dm_geo_replication_link_status WHERE partner_database = 'SSISDB'`

	// schedules lists SQL Agent schedules (Managed Instance only); the few rows are
	// filtered by id and name in Go, so the statement never changes shape.
	schedules = `SELECT schedule_id, name, enabled FROM msdb.dbo.sysschedules ORDER BY schedule_id`

	// updateSchedule enables (@p2 = 1) or disables (@p2 = 0) schedule @p1.
	updateSchedule = `EXEC msdb.dbo.sp_update_schedule @schedule_id = @p1, @enabled = @p2`

	// failoverIR attaches SSISDB to data factory @p1's integration runtime @p2.
	// It runs in SSISDB: the connection's database on SQL Database, and the
	// configured database (SSISDB by default) on Managed Instance.
	failoverIR = `EXEC [catalog].[failover_integration_runtime] @data_factory_name = @p1, @integration_runtime_name = @p2`
)
