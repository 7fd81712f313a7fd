package sqlstandin

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"testing"

	"integration-dr/drerr"
	"integration-dr/mssql"
)

func loadJob(enabled bool) mssql.AgentJob {
	return mssql.AgentJob{
		Name: "Load DW", Enabled: true, Category: "SSIS", StartStep: 1,
		Steps: []mssql.JobStep{{ID: 1, Name: "Run package", Subsystem: "SSIS", Database: "master", Command: `/ISSERVER "\"\SSISDB\DW\Load\LoadDW.dtsx\""`, OnSuccess: 1, OnFail: 2}},
		Schedules: []mssql.JobSchedule{{Name: "Nightly load", Enabled: enabled, FreqType: 4, FreqInterval: 1, FreqSubdayType: 1,
			ActiveStartDate: 20260101, ActiveEndDate: 99991231, ActiveStartTime: 20000, ActiveEndTime: 235959}},
	}
}

func TestAgentJobsFollowTheirSchedules(t *testing.T) {
	s, base := serve(t)
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
	must(t, s.PutSchedule(west, 7, "Nightly load", false))
	must(t, s.PutJob(west, loadJob(true)))
	must(t, s.PutJob(west, mssql.AgentJob{Name: "Adhoc", Enabled: true, Steps: []mssql.JobStep{{ID: 1, Name: "x", Subsystem: "TSQL", Command: "SELECT 1"}}}))
	c := client(t, base, west, mssql.ManagedInstance)
	ctx := context.Background()

	jobs, err := c.AgentJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := loadJob(true)
	want.Schedules[0].ID = 7 // the host's schedule of that name
	if len(jobs) != 2 || !reflect.DeepEqual(jobs[1], want) || jobs[0].Name != "Adhoc" {
		t.Fatalf("jobs %+v\nwant [Adhoc, %+v]", jobs, want)
	}
	arts, err := c.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if direct := mssql.JobArtifacts([]mssql.AgentJob{want}); !maps.Equal(arts[1].Fields, direct[0].Fields) || !arts[1].Running {
		t.Errorf("artifact %+v, want %+v running", arts[1], direct[0])
	}
	// The SSIS reconcile disables the schedule by id: the job no longer runs.
	must(t, c.SetScheduleEnabled(ctx, 7, false))
	arts, err = c.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if arts[1].Running {
		t.Error("the job runs with its schedule disabled")
	}
	if got := s.AgentJobs(west); len(got) != 2 || got[1].Schedules[0].Enabled {
		t.Errorf("stand-in jobs %+v", got)
	}
}

func TestAgentJobsNeedSQLAgent(t *testing.T) {
	s, base := serve(t)
	must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, fixed("PRIMARY", true)))
	if err := s.PutJob(sqlw, loadJob(true)); err == nil {
		t.Error("a job was put on SQL Database")
	}
	if err := s.PutJob(east, loadJob(true)); err == nil {
		t.Error("a job was put on a host without SSISDB")
	}
	c := client(t, base, sqlw, mssql.SQLDatabase)
	if _, err := c.AgentJobs(context.Background()); !drerr.Is(err, drerr.Invalid) || !errors.Is(err, mssql.ErrNoAgent) {
		t.Errorf("agent jobs on SQL Database: %v", err)
	}
	if arts, err := c.Artifacts(context.Background()); err != nil || arts != nil {
		t.Errorf("artifacts on SQL Database: %v, %v; want none", arts, err)
	}
	// A client that thinks it talks to a Managed Instance hears what SQL Database says.
	mi := client(t, base, sqlw, mssql.ManagedInstance)
	_, err := mi.AgentJobs(context.Background())
	checkCode(t, err, drerr.Unavailable)
}
