package mssql

import (
	"errors"
	"strings"
	"testing"

	"integration-dr/drerr"
)

func TestRoleOf(t *testing.T) {
	tests := []struct {
		name     string
		descs    []string
		want     Role
		wantCode drerr.Code // "" for no error
	}{
		{name: "no row means the link is gone", descs: nil, want: RoleNone},
		{name: "an empty result is no row too", descs: []string{}, want: RoleNone},
		{name: "PRIMARY is Primary", descs: []string{"PRIMARY"}, want: RolePrimary},
		{name: "SECONDARY is Secondary", descs: []string{"SECONDARY"}, want: RoleSecondary},
		{name: "case and padding are ignored", descs: []string{" secondary "}, want: RoleSecondary},
		{name: "rows that agree give their role", descs: []string{"PRIMARY", "primary", "PRIMARY"}, want: RolePrimary},
		{name: "rows that disagree are Unavailable", descs: []string{"PRIMARY", "SECONDARY"}, want: RoleUnknown, wantCode: drerr.Unavailable},
		{name: "rows that disagree the other way round are Unavailable", descs: []string{"SECONDARY", "PRIMARY"}, want: RoleUnknown, wantCode: drerr.Unavailable},
		{name: "an unknown value is Internal", descs: []string{"RESOLVING"}, want: RoleUnknown, wantCode: drerr.Internal},
		{name: "NULL (read as empty) is Internal", descs: []string{""}, want: RoleUnknown, wantCode: drerr.Internal},
		{name: "an unknown value after a known one is Internal", descs: []string{"PRIMARY", "RESOLVING"}, want: RoleUnknown, wantCode: drerr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RoleOf(tt.descs)
			if got != tt.want {
				t.Errorf("role = %v, want %v", got, tt.want)
			}
			checkCode(t, err, tt.wantCode)
		})
	}
}

func TestSelectSchedules(t *testing.T) {
	all := []Schedule{{1, "Nightly load", true}, {2, "Hourly sync", false}, {3, "nightly load", false}, {4, "Weekly purge", true}}
	tests := []struct {
		name        string
		all         []Schedule
		ids         []int
		names       []string
		want        []Schedule
		wantCode    drerr.Code
		wantMissing []string // what the NotFound error must name
	}{
		{name: "no filter returns every schedule", all: all, want: all},
		{name: "no filter over no schedules returns none", all: nil, want: nil},
		{name: "ids select their schedules in listing order", all: all, ids: []int{4, 2}, want: []Schedule{all[1], all[3]}},
		{name: "a repeated id selects its schedule once", all: all, ids: []int{2, 2}, want: []Schedule{all[1]}},
		{name: "a name matches every schedule so named, ignoring case", all: all, names: []string{"NIGHTLY LOAD"}, want: []Schedule{all[0], all[2]}},
		{name: "ids and names combine without duplicates", all: all, ids: []int{1}, names: []string{"Nightly load"}, want: []Schedule{all[0], all[2]}},
		{name: "a missing id is NotFound with what was found", all: all, ids: []int{2, 9}, want: []Schedule{all[1]},
			wantCode: drerr.NotFound, wantMissing: []string{"id 9"}},
		{name: "a missing name is NotFound and named quoted", all: all, ids: []int{4}, names: []string{"Gone"}, want: []Schedule{all[3]},
			wantCode: drerr.NotFound, wantMissing: []string{`"Gone"`}},
		{name: "everything missing from an empty listing is named", all: nil, ids: []int{1}, names: []string{"Nightly load"},
			wantCode: drerr.NotFound, wantMissing: []string{"id 1", `"Nightly load"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectSchedules(tt.all, tt.ids, tt.names)
			checkCode(t, err, tt.wantCode)
			if !equalSchedules(got, tt.want) {
				t.Errorf("schedules = %v, want %v", got, tt.want)
			}
			for _, m := range tt.wantMissing {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("error %v does not name %s", err, m)
				}
			}
		})
	}
}

func TestRequireAgent(t *testing.T) {
	tests := []struct {
		kind     Kind
		wantCode drerr.Code
	}{
		{kind: ManagedInstance},
		{kind: SQLDatabase, wantCode: drerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			err := RequireAgent(tt.kind, "read SQL Agent schedules")
			checkCode(t, err, tt.wantCode)
			if (tt.wantCode != "") != errors.Is(err, ErrNoAgent) {
				t.Errorf("error %v: wraps ErrNoAgent = %t, want %t", err, errors.Is(err, ErrNoAgent), tt.wantCode != "")
			}
		})
	}
}

func TestErrorNumberCode(t *testing.T) {
	tests := []struct {
		number int32
		want   drerr.Code
	}{
		{errScheduleNotFound, drerr.NotFound},
		{errProcNotFound, drerr.NotFound},
		{errInvalidObject, drerr.NotFound},
		{errPermissionDenied, drerr.Invalid},
		{errServerPermission, drerr.Invalid},
		{errNoPermission, drerr.Invalid},
		{errUserNoPermission, drerr.Invalid},
		{40613, drerr.Unavailable}, // database not currently available (failover in progress)
		{40515, drerr.Unavailable}, // a name SQL Database does not support: the default
		{0, drerr.Unavailable},
	}
	for _, tt := range tests {
		if got := ErrorNumberCode(tt.number); got != tt.want {
			t.Errorf("ErrorNumberCode(%d) = %s, want %s", tt.number, got, tt.want)
		}
	}
}

func TestSplitServer(t *testing.T) {
	tests := []struct {
		server     string
		host, port string
		ok         bool
	}{
		{server: "sqlwest.database.windows.net", host: "sqlwest.database.windows.net", ok: true},
		{server: "mi.public.abc123.database.windows.net:3342", host: "mi.public.abc123.database.windows.net", port: "3342", ok: true},
		{server: ""},
		{server: "host:0"},
		{server: "host:65536"},
		{server: "-host.example"},
		{server: "x;password=hunter2"},
		{server: strings.Repeat("a", 254)},
	}
	for _, tt := range tests {
		host, port, err := SplitServer(tt.server)
		if (err == nil) != tt.ok || host != tt.host || port != tt.port {
			t.Errorf("SplitServer(%q) = %q, %q, %v; want %q, %q, ok=%t", tt.server, host, port, err, tt.host, tt.port, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("SplitServer error leaks its input: %v", err)
		}
	}
}
