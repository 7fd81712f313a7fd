package mssql

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	mssqldrv "github.com/microsoft/go-mssqldb"

	"integration-dr/drerr"
	"integration-dr/drift"
)

const (
	jobLoad  = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
	jobPurge = "7A1B2C3D-0000-0000-0000-000000000002"
)

// expectJobs sets the three msdb reads up: two jobs, the load job with an SSIS step
// holding a package password and a T-SQL step, attached to a schedule enabled as
// given; the purge job without schedules.
func expectJobs(mock sqlmock.Sqlmock, loadEnabled, scheduleEnabled bool) {
	mock.ExpectQuery(agentJobs).WithoutArgs().WillReturnRows(sqlmock.NewRows([]string{"job_id", "name", "enabled", "description", "category", "start_step_id"}).
		AddRow(jobLoad, "Load DW", bit(loadEnabled), "Nightly load of the warehouse", "SSIS", 1).
		AddRow(jobPurge, "Purge O'Brien logs", 1, "", "", 1))
	mock.ExpectQuery(agentJobSteps).WithoutArgs().WillReturnRows(sqlmock.NewRows([]string{"job_id", "step_id", "step_name", "subsystem", "database_name", "command", "on_success_action", "on_fail_action", "retry_attempts", "retry_interval"}).
		AddRow(jobLoad, 1, "Run package", "SSIS", "master", `/ISSERVER "\"\SSISDB\DW\Load\LoadDW.dtsx\"" /SERVER "\"mi-weu\"" /DECRYPT s3cr3t-pkg /ENVREFERENCE 3`, 3, 2, 1, 5).
		AddRow(jobLoad, 2, "Mark done", "TSQL", "DW", "UPDATE etl.Runs SET Done = 1;", 1, 2, 0, 0).
		AddRow(jobPurge, 1, "Purge", "TSQL", "", "DELETE FROM dbo.Log WHERE At < DATEADD(day, -30, SYSUTCDATETIME());", 1, 2, 0, 0))
	mock.ExpectQuery(agentJobSchedules).WithoutArgs().WillReturnRows(sqlmock.NewRows([]string{"job_id", "schedule_id", "name", "enabled", "freq_type", "freq_interval", "freq_subday_type", "freq_subday_interval", "freq_relative_interval", "freq_recurrence_factor", "active_start_date", "active_end_date", "active_start_time", "active_end_time"}).
		AddRow(jobLoad, 12, "SSIS nightly load", bit(scheduleEnabled), 4, 1, 1, 0, 0, 0, 20260101, 99991231, 20000, 235959))
}

func TestAgentJobsAreReadWithStepsAndSchedules(t *testing.T) {
	db, mock := newMock(t, ManagedInstance)
	expectJobs(mock, true, true)
	arts, err := db.Artifacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Name != "Load DW" || arts[1].Name != "Purge O'Brien logs" {
		t.Fatalf("artifacts %+v", arts)
	}
	load := arts[0]
	want := map[string]string{
		"enabled": "true", "category": "SSIS", "startStep": "1",
		"steps[1].name": "Run package", "steps[1].subsystem": "SSIS", "steps[1].database": "master",
		"steps[1].onSuccess": "3", "steps[1].onFail": "2", "steps[1].retries": "1", "steps[1].retryInterval": "5",
		"steps[2].command":                             drift.Digest([]byte("UPDATE etl.Runs SET Done = 1;")),
		"schedules[SSIS nightly load].freqType":        "4",
		"schedules[SSIS nightly load].activeStartTime": "20000",
	}
	for k, v := range want {
		if load.Fields[k] != v {
			t.Errorf("%s = %q, want %q", k, load.Fields[k], v)
		}
	}
	for k, v := range load.Fields {
		if strings.Contains(v, "s3cr3t") || strings.Contains(k, "enabled") && k != "enabled" {
			t.Errorf("field %s = %q", k, v)
		}
	}
	if !load.Running || arts[1].Running {
		t.Errorf("running = %v, %v; want the scheduled job only", load.Running, arts[1].Running)
	}
	var script string
	if err := json.Unmarshal(load.Body, &script); err != nil {
		t.Fatalf("body is not a JSON string: %v", err)
	}
	for _, part := range []string{
		"EXEC msdb.dbo.sp_add_job @job_name = N'Load DW', @enabled = 1, @description = N'Nightly load of the warehouse', @category_name = N'SSIS', @job_id = @jobId OUTPUT;",
		"@step_id = 1, @step_name = N'Run package', @subsystem = N'SSIS', @database_name = N'master'",
		"/DECRYPT [redacted] /ENVREFERENCE 3",
		"-- step 1: a secret in its command is masked",
		"EXEC msdb.dbo.sp_add_schedule @schedule_name = N'SSIS nightly load', @enabled = 0, @freq_type = 4",
		"EXEC msdb.dbo.sp_attach_schedule @job_id = @jobId, @schedule_id = @scheduleId;",
		"EXEC msdb.dbo.sp_add_jobserver @job_id = @jobId, @server_name = N'(local)';",
	} {
		if !strings.Contains(script, part) {
			t.Errorf("script lacks %q:\n%s", part, script)
		}
	}
	if strings.Contains(script, "s3cr3t") || strings.Contains(script, "@owner_login_name") || strings.Contains(script, "@enabled = 1, @freq") {
		t.Errorf("script holds a secret, an owner or an enabled schedule:\n%s", script)
	}
	var purge string
	_ = json.Unmarshal(arts[1].Body, &purge)
	if !strings.Contains(purge, "N'Purge O''Brien logs'") || !strings.Contains(purge, "@database_name = N'master'") {
		t.Errorf("purge script does not quote its name or default its database:\n%s", purge)
	}
}

func TestAgentJobsOnBothInstancesDifferOnlyInWhatMatters(t *testing.T) {
	read := func(loadEnabled, scheduleEnabled bool) []drift.Artifact {
		db, mock := newMock(t, ManagedInstance)
		expectJobs(mock, loadEnabled, scheduleEnabled)
		arts, err := db.Artifacts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return arts
	}
	// The standby's schedules disabled: no difference, and nothing runs there.
	if d := drift.Compare(read(true, true), read(true, false), nil, false).Differences; len(d) != 0 {
		t.Errorf("a disabled schedule on the standby made differences: %+v", d)
	}
	// Its schedule enabled while it does not serve: reported to stop.
	d := drift.Compare(read(true, true), read(true, true), nil, false).Differences
	if len(d) != 1 || d[0].Change != drift.Stop || d[0].Name != "Load DW" {
		t.Errorf("differences %+v, want Load DW to stop", d)
	}
	// A disabled job is a difference, reported, never copied.
	d = drift.Compare(read(true, true), read(false, false), nil, false).Differences
	if len(d) != 1 || d[0].Change != drift.Report || len(d[0].Fields) != 1 || d[0].Fields[0] != "enabled" {
		t.Errorf("differences %+v, want a report of enabled", d)
	}
}

func TestAgentJobFailures(t *testing.T) {
	if _, err := New(nil, SQLDatabase).AgentJobs(context.Background()); !drerr.Is(err, drerr.Invalid) || !errors.Is(err, ErrNoAgent) {
		t.Errorf("agent jobs on SQL Database: %v", err)
	}
	if arts, err := New(nil, SQLDatabase).Artifacts(context.Background()); err != nil || arts != nil {
		t.Errorf("artifacts on SQL Database: %v, %v; want none", arts, err)
	}
	db, mock := newMock(t, ManagedInstance)
	mock.ExpectQuery(agentJobs).WithoutArgs().WillReturnError(mssqldrv.Error{Number: 229, Message: "The SELECT permission was denied on the object 'sysjobs'"})
	if _, err := db.Artifacts(context.Background()); !drerr.Is(err, drerr.Invalid) {
		t.Errorf("a missing permission: %v, want Invalid", err)
	}
}
