package config

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// SSISPair is an Azure-SSIS integration runtime dual-standby pair that follows its SQL
// failover group.
type SSISPair struct {
	Name string
	// ManagedInstance: an instance failover group of SQL Managed Instances; else a
	// failover group of Azure SQL Database servers (no SQL Agent there).
	ManagedInstance bool
	// StandbyIR is what the standby's runtime does: "running" (near-zero downtime) or
	// "stopped" (cost).
	StandbyIR string
	Primary   SSISSide
	Secondary SSISSide
	// Drift is the pair's allow-list of intended differences (drift reports, mirror).
	Drift Drift
}

// SSISSide is one side of an SSIS pair.
type SSISSide struct {
	// FailoverGroup is the failover group's resource ID as this side's server (SQL
	// Database) or instance location (Managed Instance) holds it.
	FailoverGroup string
	// SQLEndpoint is SSISDB's server, host[:port]; empty: the role comes from ARM alone
	// and no schedule is toggled.
	SQLEndpoint string
	// DataFactory is the factory's resource ID; IntegrationRuntime the Azure-SSIS IR's name.
	DataFactory        string
	IntegrationRuntime string
	// Triggers and TriggerAnnotation pick the triggers that run only where SSISDB is
	// primary: by name, and every trigger carrying the annotation.
	Triggers          []string
	TriggerAnnotation string
	// ScheduleIDs and ScheduleNames are the SQL Agent schedules to toggle (Managed
	// Instance only).
	ScheduleIDs   []int
	ScheduleNames []string
}

type ssisPairJSON struct {
	Name      string        `json:"name"`
	StandbyIR string        `json:"standbyIR"`
	Primary   *ssisSideJSON `json:"primary"`
	Secondary *ssisSideJSON `json:"secondary"`
	Drift     *driftJSON    `json:"drift"`
}

type ssisSideJSON struct {
	FailoverGroup      string            `json:"failoverGroup"`
	SQLEndpoint        string            `json:"sqlEndpoint"`
	DataFactory        string            `json:"dataFactory"`
	IntegrationRuntime string            `json:"integrationRuntime"`
	Triggers           []string          `json:"triggers"`
	TriggerAnnotation  string            `json:"triggerAnnotation"`
	Schedules          []json.RawMessage `json:"schedules"`
}

// failoverGroupID is a failover group's resource ID, taken apart.
type failoverGroupID struct {
	managedInstance bool
	name            string
}

// parseFailoverGroupID accepts
// /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Sql/servers/{server}/failoverGroups/{fg} and
// /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Sql/locations/{location}/instanceFailoverGroups/{fg}.
func parseFailoverGroupID(id string) (failoverGroupID, bool) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) != 10 || !strings.HasPrefix(id, "/") || !isResourceID("/"+strings.Join(parts[:8], "/"), "Microsoft.Sql", parts[6]) || parts[9] == "" {
		return failoverGroupID{}, false
	}
	switch {
	case strings.EqualFold(parts[6], "servers") && strings.EqualFold(parts[8], "failoverGroups"):
		return failoverGroupID{name: strings.ToLower(parts[9])}, true
	case strings.EqualFold(parts[6], "locations") && strings.EqualFold(parts[8], "instanceFailoverGroups"):
		return failoverGroupID{managedInstance: true, name: strings.ToLower(parts[9])}, true
	}
	return failoverGroupID{}, false
}

func (p *parser) ssisPairs(field string, raw []ssisPairJSON, seen map[string]bool) []SSISPair {
	var out []SSISPair
	for i, tp := range raw {
		f := fmt.Sprintf("%s: %s[%d]", EnvTopology, field, i)
		pair := SSISPair{Name: p.pairName(f+".name", tp.Name, seen), StandbyIR: strings.ToLower(strings.TrimSpace(tp.StandbyIR))}
		switch pair.StandbyIR {
		case "":
			pair.StandbyIR = "running"
		case "running", "stopped":
		default:
			p.fail(f+".standbyIR", fmt.Sprintf("%q is not one of running, stopped", tp.StandbyIR))
		}
		pair.Drift = p.drift(f+".drift", tp.Drift)
		var groups [2]failoverGroupID
		for j, side := range []struct {
			name string
			in   *ssisSideJSON
			dst  *SSISSide
		}{{"primary", tp.Primary, &pair.Primary}, {"secondary", tp.Secondary, &pair.Secondary}} {
			if side.in == nil {
				p.fail(f+"."+side.name, "is required")
				continue
			}
			*side.dst, groups[j] = p.ssisSide(f+"."+side.name, *side.in)
		}
		pair.ManagedInstance = groups[0].managedInstance
		switch {
		case groups[0].name == "" || groups[1].name == "":
		case groups[0].managedInstance != groups[1].managedInstance:
			p.fail(f+".secondary.failoverGroup", "is not the same kind of failover group as the primary's")
		case groups[0].name != groups[1].name:
			p.fail(f+".secondary.failoverGroup", fmt.Sprintf("names group %q; the primary's names %q: both sides must name the same group", groups[1].name, groups[0].name))
		case strings.EqualFold(pair.Primary.FailoverGroup, pair.Secondary.FailoverGroup):
			p.fail(f+".secondary.failoverGroup", "is the primary's: each side names the group through its own server or location")
		}
		if pair.Primary.DataFactory != "" && strings.EqualFold(pair.Primary.DataFactory, pair.Secondary.DataFactory) {
			// The standby's triggers and runtime would be the primary's: stopping one
			// side would stop the other.
			p.fail(f+".secondary.dataFactory", "is the primary's: each side's runtime and triggers live in its own factory")
		}
		for _, side := range []struct {
			name string
			s    SSISSide
		}{{"primary", pair.Primary}, {"secondary", pair.Secondary}} {
			hasSchedules := len(side.s.ScheduleIDs)+len(side.s.ScheduleNames) > 0
			switch {
			case hasSchedules && groups[0].name != "" && !pair.ManagedInstance:
				p.fail(f+"."+side.name+".schedules", "Azure SQL Database has no SQL Agent: schedules are for Managed Instance failover groups only")
			case hasSchedules && side.s.SQLEndpoint == "":
				p.fail(f+"."+side.name+".sqlEndpoint", "is required to toggle SQL Agent schedules")
			}
		}
		out = append(out, pair)
	}
	return out
}

func (p *parser) ssisSide(f string, in ssisSideJSON) (SSISSide, failoverGroupID) {
	s := SSISSide{
		FailoverGroup: in.FailoverGroup, SQLEndpoint: strings.TrimSpace(in.SQLEndpoint), DataFactory: in.DataFactory,
		IntegrationRuntime: strings.TrimSpace(in.IntegrationRuntime), TriggerAnnotation: in.TriggerAnnotation,
	}
	fg, ok := parseFailoverGroupID(in.FailoverGroup)
	if !ok {
		p.fail(f+".failoverGroup", fmt.Sprintf("%q is not a failover group resource ID (…/providers/Microsoft.Sql/servers/{server}/failoverGroups/{group}, or …/providers/Microsoft.Sql/locations/{location}/instanceFailoverGroups/{group})", in.FailoverGroup))
	}
	if !isResourceID(in.DataFactory, "Microsoft.DataFactory", "factories") {
		p.fail(f+".dataFactory", fmt.Sprintf("%q is not a data factory resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.DataFactory/factories/…)", in.DataFactory))
	}
	if s.IntegrationRuntime == "" || strings.ContainsAny(s.IntegrationRuntime, "/?#") {
		p.fail(f+".integrationRuntime", fmt.Sprintf("%q is not an integration runtime name", in.IntegrationRuntime))
	}
	if s.SQLEndpoint != "" && !validEndpoint(s.SQLEndpoint) {
		// Not echoed: a connection string pasted here would leak its password.
		p.fail(f+".sqlEndpoint", "is not a host name or host:port (a connection string does not belong here: the app signs in with its identity)")
	}
	for j, t := range in.Triggers {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, "/?#") {
			p.fail(fmt.Sprintf("%s.triggers[%d]", f, j), fmt.Sprintf("%q is not a trigger name", t))
			continue
		}
		s.Triggers = append(s.Triggers, strings.TrimSpace(t))
	}
	for j, raw := range in.Schedules {
		var id int
		var name string
		switch {
		case json.Unmarshal(raw, &id) == nil && id > 0:
			s.ScheduleIDs = append(s.ScheduleIDs, id)
		case json.Unmarshal(raw, &name) == nil && strings.TrimSpace(name) != "":
			s.ScheduleNames = append(s.ScheduleNames, strings.TrimSpace(name))
		default:
			p.fail(fmt.Sprintf("%s.schedules[%d]", f, j), fmt.Sprintf("%s is not a schedule id (a whole number from 1) or name", raw))
		}
	}
	return s, fg
}

// validEndpoint checks host[:port], the shape mssql.Open accepts.
func validEndpoint(s string) bool {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return false
		}
		host = h
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}
