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

	// agentJobs, agentJobSteps and agentJobSchedules read every SQL Agent job with its
	// steps and schedules (Managed Instance only), joined in Go by job id. Text
	// columns that may be NULL read as ''.
	agentJobs = `SELECT CONVERT(varchar(36), j.job_id), j.name, j.enabled, ISNULL(j.description, N''), ISNULL(c.name, N''), j.start_step_id FROM msdb.dbo.sysjobs j LEFT JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id ORDER BY j.name`

	agentJobSteps = `SELECT CONVERT(varchar(36), job_id), step_id, step_name, subsystem, ISNULL(database_name, N''), ISNULL(command, N''), on_success_action, on_fail_action, retry_attempts, retry_interval FROM msdb.dbo.sysjobsteps ORDER BY job_id, step_id`

	agentJobSchedules = `SELECT CONVERT(varchar(36), js.job_id), s.schedule_id, s.name, s.enabled, s.freq_type, s.freq_interval, s.freq_subday_type, s.freq_subday_interval, s.freq_relative_interval, s.freq_recurrence_factor, s.active_start_date, s.active_end_date, s.active_start_time, s.active_end_time FROM msdb.dbo.sysjobschedules js JOIN msdb.dbo.sysschedules s ON s.schedule_id = js.schedule_id ORDER BY js.job_id, s.name`
)

// The script that recreates an Agent job on another instance, as a report hands it to
// the operator (AgentJob.Script): it is never run by this package. Jobs are not
// copied because their owners, credentials and proxies differ per instance, so the
// script names no owner (sp_add_job takes the caller) and its schedules are created
// disabled (@enabled = 0): the SSIS reconcile enables them where SSISDB is primary.
// Values are N'...' literals with quotes doubled (scriptString).
const (
	scriptBegin = "SET XACT_ABORT ON;\nBEGIN TRANSACTION;\nDECLARE @jobId BINARY(16), @scheduleId INT;\n"

	scriptAddJob = "EXEC msdb.dbo.sp_add_job @job_name = %s, @enabled = %d, @description = %s, @category_name = %s, @job_id = @jobId OUTPUT;\n"

	scriptAddJobStep = "EXEC msdb.dbo.sp_add_jobstep @job_id = @jobId, @step_id = %d, @step_name = %s, @subsystem = %s, @database_name = %s, @command = %s, @on_success_action = %d, @on_fail_action = %d, @retry_attempts = %d, @retry_interval = %d;\n"

	scriptStartStep = "EXEC msdb.dbo.sp_update_job @job_id = @jobId, @start_step_id = %d;\n"

	scriptAddSchedule = "EXEC msdb.dbo.sp_add_schedule @schedule_name = %s, @enabled = 0, @freq_type = %d, @freq_interval = %d, @freq_subday_type = %d, @freq_subday_interval = %d, @freq_relative_interval = %d, @freq_recurrence_factor = %d, @active_start_date = %d, @active_end_date = %d, @active_start_time = %d, @active_end_time = %d, @schedule_id = @scheduleId OUTPUT;\n"

	scriptAttachSchedule = "EXEC msdb.dbo.sp_attach_schedule @job_id = @jobId, @schedule_id = @scheduleId;\n"

	scriptAddJobServer = "EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)';\nCOMMIT TRANSACTION;\n"

	// scriptMasked precedes a step whose command held a secret, masked in the script.
	scriptMasked = "-- step %d: a secret in its command is masked; fill it in before running.\n"
)
