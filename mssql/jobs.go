package mssql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"integration-dr/drift"
	"integration-dr/redact"
)

// AgentJob is one SQL Agent job with its steps and schedules, as msdb holds it.
type AgentJob struct {
	Name        string
	Enabled     bool
	Description string
	Category    string
	StartStep   int
	Steps       []JobStep     // by step id
	Schedules   []JobSchedule // by name
}

// JobStep is one step of a job (msdb.dbo.sysjobsteps).
type JobStep struct {
	ID        int
	Name      string
	Subsystem string // "SSIS", "TSQL", ...
	Database  string
	Command   string
	// OnSuccess and OnFail are Agent's actions: 1 quit reporting success, 2 quit
	// reporting failure, 3 go to the next step, 4 go to a step.
	OnSuccess, OnFail    int
	Retries, RetryMinute int
}

// JobSchedule is one schedule attached to a job (msdb.dbo.sysschedules), in Agent's
// own encoding of frequencies.
type JobSchedule struct {
	ID                                                             int // this instance's schedule_id: not compared, ids differ per instance
	Name                                                           string
	Enabled                                                        bool
	FreqType, FreqInterval, FreqSubdayType, FreqSubdayInterval     int
	FreqRelativeInterval, FreqRecurrenceFactor                     int
	ActiveStartDate, ActiveEndDate, ActiveStartTime, ActiveEndTime int
}

// Running says the job runs on its own: it is enabled and has an enabled schedule.
func (j AgentJob) Running() bool {
	if !j.Enabled {
		return false
	}
	for _, s := range j.Schedules {
		if s.Enabled {
			return true
		}
	}
	return false
}

// Artifact is the job as drift compares it. Fields: "enabled", "category",
// "startStep"; per step "steps[<id>].name", ".subsystem", ".database", ".command" (a
// Digest), ".onSuccess", ".onFail", ".retries", ".retryInterval"; per schedule, by
// name, "schedules[<name>].freqType", ".freqInterval", ".freqSubdayType",
// ".freqSubdayInterval", ".freqRelativeInterval", ".freqRecurrenceFactor",
// ".activeStartDate", ".activeEndDate", ".activeStartTime", ".activeEndTime". A
// schedule's enabled state is not a field: it is Running, the side's own state. Body
// is a JSON string holding Script.
func (j AgentJob) Artifact() drift.Artifact {
	f := map[string]string{
		"enabled":   strconv.FormatBool(j.Enabled),
		"startStep": strconv.Itoa(j.StartStep),
	}
	if j.Category != "" {
		f["category"] = j.Category
	}
	for _, s := range j.Steps {
		p := "steps[" + strconv.Itoa(s.ID) + "]."
		f[p+"name"], f[p+"subsystem"], f[p+"database"] = s.Name, s.Subsystem, s.Database
		f[p+"command"] = drift.Digest([]byte(s.Command))
		f[p+"onSuccess"], f[p+"onFail"] = strconv.Itoa(s.OnSuccess), strconv.Itoa(s.OnFail)
		f[p+"retries"], f[p+"retryInterval"] = strconv.Itoa(s.Retries), strconv.Itoa(s.RetryMinute)
	}
	seen := map[string]int{}
	for _, s := range j.Schedules {
		// Schedule names need not be unique: a second one of a name gets "#2".
		key := strings.ToLower(s.Name)
		seen[key]++
		name := s.Name
		if n := seen[key]; n > 1 {
			name += "#" + strconv.Itoa(n)
		}
		p := "schedules[" + name + "]."
		for k, v := range map[string]int{
			"freqType": s.FreqType, "freqInterval": s.FreqInterval, "freqSubdayType": s.FreqSubdayType,
			"freqSubdayInterval": s.FreqSubdayInterval, "freqRelativeInterval": s.FreqRelativeInterval,
			"freqRecurrenceFactor": s.FreqRecurrenceFactor, "activeStartDate": s.ActiveStartDate,
			"activeEndDate": s.ActiveEndDate, "activeStartTime": s.ActiveStartTime, "activeEndTime": s.ActiveEndTime,
		} {
			f[p+k] = strconv.Itoa(v)
		}
	}
	body, _ := json.Marshal(j.Script()) // a string always marshals
	return drift.Artifact{Kind: drift.AgentJob, Name: j.Name, Fields: f, Running: j.Running(), Body: body}
}

// decryptArg is a step command's package password (dtexec's /DECRYPT).
var decryptArg = regexp.MustCompile(`(?i)(/DE(?:CRYPT)?\s+)("[^"]*"|\S+)`)

// secretParam is the value a step command gives a parameter or variable (dtexec's
// /Par and /SET, "name";value) whose name says it is a secret: a password, a key, a
// token, a credential. Names and values may be quoted, with \" inside.
var secretParam = regexp.MustCompile(`(?i)(/(?:Par|SET)\s+(?:"(?:\\.|[^"\\])*(?:password|pwd|secret|key|token|credential)(?:\\.|[^"\\])*"|[^\s";]*(?:password|pwd|secret|key|token|credential)[^\s";]*);)("(?:\\.|[^"\\])*"|\S+)`)

// Script is the T-SQL that creates the job on another instance: sp_add_job (no owner:
// the one who runs it), sp_add_jobstep per step, sp_add_schedule with @enabled = 0
// and sp_attach_schedule per schedule, sp_add_jobserver, in one transaction. A secret
// in a step's command (a package password, a password in a connection string) is
// masked (also a /Par or /SET value whose name says it is a secret), and a comment
// says so.
func (j AgentJob) Script() string {
	var b strings.Builder
	b.WriteString(scriptBegin)
	fmt.Fprintf(&b, scriptAddJob, scriptString(j.Name), bit(j.Enabled), scriptString(j.Description), scriptString(orDefault(j.Category, "[Uncategorized (Local)]")))
	for _, s := range j.Steps {
		cmd := decryptArg.ReplaceAllString(s.Command, "${1}"+redact.Mask)
		cmd = redact.String(secretParam.ReplaceAllString(cmd, "${1}"+redact.Mask))
		if cmd != s.Command {
			fmt.Fprintf(&b, scriptMasked, s.ID)
		}
		fmt.Fprintf(&b, scriptAddJobStep, s.ID, scriptString(s.Name), scriptString(s.Subsystem), scriptString(orDefault(s.Database, "master")), scriptString(cmd), s.OnSuccess, s.OnFail, s.Retries, s.RetryMinute)
	}
	if j.StartStep > 0 {
		fmt.Fprintf(&b, scriptStartStep, j.StartStep)
	}
	for _, s := range j.Schedules {
		fmt.Fprintf(&b, scriptAddSchedule, scriptString(s.Name), s.FreqType, s.FreqInterval, s.FreqSubdayType, s.FreqSubdayInterval,
			s.FreqRelativeInterval, s.FreqRecurrenceFactor, s.ActiveStartDate, s.ActiveEndDate, s.ActiveStartTime, s.ActiveEndTime)
		b.WriteString(scriptAttachSchedule)
	}
	b.WriteString(scriptAddJobServer)
	return b.String()
}

// scriptString is s as a T-SQL Unicode literal.
func scriptString(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

const opJobs = "read SQL Agent jobs"

// AgentJobs reads every SQL Agent job with its steps and schedules, by name. On SQL
// Database it fails as drerr.Invalid wrapping ErrNoAgent without asking.
func (d *DB) AgentJobs(ctx context.Context) ([]AgentJob, error) {
	if err := RequireAgent(d.kind, opJobs); err != nil {
		return nil, err
	}
	byID := map[string]*AgentJob{}
	var order []string
	err := d.query(ctx, agentJobs, func(rows *sql.Rows) error {
		var id string
		var j AgentJob
		var enabled int64
		if err := rows.Scan(&id, &j.Name, &enabled, &j.Description, &j.Category, &j.StartStep); err != nil {
			return err
		}
		j.Enabled = enabled != 0
		byID[id] = &j
		order = append(order, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = d.query(ctx, agentJobSteps, func(rows *sql.Rows) error {
		var id string
		var s JobStep
		if err := rows.Scan(&id, &s.ID, &s.Name, &s.Subsystem, &s.Database, &s.Command, &s.OnSuccess, &s.OnFail, &s.Retries, &s.RetryMinute); err != nil {
			return err
		}
		if j := byID[id]; j != nil { // a job created between the reads is left for next time
			j.Steps = append(j.Steps, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = d.query(ctx, agentJobSchedules, func(rows *sql.Rows) error {
		var id string
		var s JobSchedule
		var enabled int64
		if err := rows.Scan(&id, &s.ID, &s.Name, &enabled, &s.FreqType, &s.FreqInterval, &s.FreqSubdayType, &s.FreqSubdayInterval,
			&s.FreqRelativeInterval, &s.FreqRecurrenceFactor, &s.ActiveStartDate, &s.ActiveEndDate, &s.ActiveStartTime, &s.ActiveEndTime); err != nil {
			return err
		}
		s.Enabled = enabled != 0
		if j := byID[id]; j != nil {
			j.Schedules = append(j.Schedules, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]AgentJob, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}

// Artifacts reads every SQL Agent job as a drift artifact (AgentJob.Artifact). Azure
// SQL Database has no SQL Agent: there it returns none, without asking.
func (d *DB) Artifacts(ctx context.Context) ([]drift.Artifact, error) {
	if d.kind == SQLDatabase {
		return nil, nil
	}
	jobs, err := d.AgentJobs(ctx)
	if err != nil {
		return nil, err
	}
	return JobArtifacts(jobs), nil
}

// JobArtifacts maps jobs to their artifacts.
func JobArtifacts(jobs []AgentJob) []drift.Artifact {
	out := make([]drift.Artifact, len(jobs))
	for i, j := range jobs {
		out[i] = j.Artifact()
	}
	return out
}

// query runs stmt and calls scan for each row, wrapping errors as wrap does.
func (d *DB) query(ctx context.Context, stmt string, scan func(*sql.Rows) error) error {
	rows, err := d.db.QueryContext(ctx, stmt)
	if err != nil {
		return wrap(opJobs, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err, checked below, says whether the read was whole
	for rows.Next() {
		if err := scan(rows); err != nil {
			return wrap(opJobs, err)
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(opJobs, err)
	}
	return nil
}
