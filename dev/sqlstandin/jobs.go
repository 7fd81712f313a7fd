package sqlstandin

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"integration-dr/drift"
	"integration-dr/mssql"
)

// SQL Agent jobs, as msdb.dbo.sysjobs, sysjobsteps, sysjobschedules and sysschedules
// hold them: a job's schedules are schedules of the host (PutSchedule's), so that
// enabling or disabling one through update_schedule shows in the job.

// The wire form of GET /{host}/jobs: the three statements' rows, joined.
type jobRow struct {
	Name        string           `json:"name"`
	Enabled     bool             `json:"enabled"`
	Description string           `json:"description"`
	Category    string           `json:"category"`
	StartStep   int              `json:"startStep"`
	Steps       []stepRow        `json:"steps"`
	Schedules   []jobScheduleRow `json:"schedules"`
}

type stepRow struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Subsystem   string `json:"subsystem"`
	Database    string `json:"database"`
	Command     string `json:"command"`
	OnSuccess   int    `json:"onSuccess"`
	OnFail      int    `json:"onFail"`
	Retries     int    `json:"retries"`
	RetryMinute int    `json:"retryInterval"`
}

type jobScheduleRow struct {
	ID                   int    `json:"id"`
	Name                 string `json:"name"`
	Enabled              bool   `json:"enabled"`
	FreqType             int    `json:"freqType"`
	FreqInterval         int    `json:"freqInterval"`
	FreqSubdayType       int    `json:"freqSubdayType"`
	FreqSubdayInterval   int    `json:"freqSubdayInterval"`
	FreqRelativeInterval int    `json:"freqRelativeInterval"`
	FreqRecurrenceFactor int    `json:"freqRecurrenceFactor"`
	ActiveStartDate      int    `json:"activeStartDate"`
	ActiveEndDate        int    `json:"activeEndDate"`
	ActiveStartTime      int    `json:"activeStartTime"`
	ActiveEndTime        int    `json:"activeEndTime"`
}

type jobsReply struct {
	Rows []jobRow `json:"rows"`
}

// PutJob creates or replaces a SQL Agent job at host (Managed Instance only). Each of
// its schedules is the host's schedule of that name (case-insensitively), set to the
// schedule's Enabled, or a new one with the next free id; the ids in job are ignored.
func (s *Server) PutJob(host string, job mssql.AgentJob) error {
	return s.with(host, func(db *ssisdb) error {
		if db.kind != mssql.ManagedInstance {
			return fmt.Errorf("host %s is %v: it has no SQL Agent", host, db.kind)
		}
		if job.Name == "" {
			return fmt.Errorf("a job needs a name")
		}
		job.Steps = slices.Clone(job.Steps)
		job.Schedules = slices.Clone(job.Schedules)
		for i, sc := range job.Schedules {
			id := 0
			for _, have := range db.schedules() {
				if strings.EqualFold(have.Name, sc.Name) {
					id = have.ID
					break
				}
			}
			if id == 0 {
				id = 1
				for have := range db.sched {
					id = max(id, have+1)
				}
			}
			db.sched[id] = mssql.Schedule{ID: id, Name: sc.Name, Enabled: sc.Enabled}
			job.Schedules[i].ID = id
		}
		db.jobs[strings.ToLower(job.Name)] = job
		return nil
	})
}

// AgentJobs returns host's SQL Agent jobs by name, their schedules' enabled state as
// now; none when host has no SSISDB.
func (s *Server) AgentJobs(host string) []mssql.AgentJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.dbs[key(host)]; db != nil {
		return db.agentJobs()
	}
	return nil
}

func (db *ssisdb) agentJobs() []mssql.AgentJob {
	jobs := slices.SortedFunc(maps.Values(db.jobs), func(a, b mssql.AgentJob) int { return cmp.Compare(a.Name, b.Name) })
	for i := range jobs {
		jobs[i].Schedules = slices.Clone(jobs[i].Schedules)
		for k, sc := range jobs[i].Schedules {
			jobs[i].Schedules[k].Enabled = db.sched[sc.ID].Enabled
		}
	}
	return jobs
}

func (s *Server) agentJobs(w http.ResponseWriter, _ *http.Request, db *ssisdb) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := noMSDB(db, "msdb.dbo.sysjobs"); err != nil {
		db.log("jobs", err)
		writeSQLError(w, err)
		return
	}
	rows := []jobRow{}
	for _, j := range db.agentJobs() {
		r := jobRow{Name: j.Name, Enabled: j.Enabled, Description: j.Description, Category: j.Category, StartStep: j.StartStep, Steps: []stepRow{}, Schedules: []jobScheduleRow{}}
		for _, st := range j.Steps {
			r.Steps = append(r.Steps, stepRow(st))
		}
		for _, sc := range j.Schedules {
			r.Schedules = append(r.Schedules, jobScheduleRow(sc))
		}
		rows = append(rows, r)
	}
	db.log("jobs", nil)
	writeJSON(w, jobsReply{Rows: rows})
}

// AgentJobs reads every SQL Agent job with its steps and schedules, as mssql.DB does;
// on SQL Database drerr.Invalid wrapping mssql.ErrNoAgent without asking.
func (c *Client) AgentJobs(ctx context.Context) ([]mssql.AgentJob, error) {
	const op = "read SQL Agent jobs"
	if err := mssql.RequireAgent(c.kind, op); err != nil {
		return nil, err
	}
	var reply jobsReply
	if err := c.do(ctx, op, http.MethodGet, "/jobs", nil, &reply); err != nil {
		return nil, err
	}
	out := make([]mssql.AgentJob, 0, len(reply.Rows))
	for _, r := range reply.Rows {
		j := mssql.AgentJob{Name: r.Name, Enabled: r.Enabled, Description: r.Description, Category: r.Category, StartStep: r.StartStep}
		for _, st := range r.Steps {
			j.Steps = append(j.Steps, mssql.JobStep(st))
		}
		for _, sc := range r.Schedules {
			j.Schedules = append(j.Schedules, mssql.JobSchedule(sc))
		}
		out = append(out, j)
	}
	return out, nil
}

// Artifacts reads every SQL Agent job as a drift artifact, as mssql.DB does: none on
// SQL Database.
func (c *Client) Artifacts(ctx context.Context) ([]drift.Artifact, error) {
	if c.kind == mssql.SQLDatabase {
		return nil, nil
	}
	jobs, err := c.AgentJobs(ctx)
	if err != nil {
		return nil, err
	}
	return mssql.JobArtifacts(jobs), nil
}
