package mssql

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	mssqldrv "github.com/microsoft/go-mssqldb"

	"integration-dr/drerr"
)

// newMock returns a DB of kind over a sqlmock that matches statements exactly, and
// fails the test if an expectation was left unmet.
func newMock(t *testing.T, kind Kind) (*DB, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Errorf("expectations: %v", err)
		}
		_ = db.Close() // sqlmock fails a Close nobody expected; the expectations above are the check
	})
	return New(db, kind), mock
}

func roleRows(descs ...any) *sqlmock.Rows {
	rows := sqlmock.NewRows([]string{"role_desc"})
	for _, d := range descs {
		rows.AddRow(d)
	}
	return rows
}

func TestRole(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		stmt     string
		rows     *sqlmock.Rows
		err      error
		want     Role
		wantCode drerr.Code // "" for no error
	}{
		{name: "a PRIMARY row on Managed Instance is Primary", kind: ManagedInstance, stmt: roleMI, rows: roleRows("PRIMARY"), want: RolePrimary},
		{name: "a SECONDARY row on Managed Instance is Secondary", kind: ManagedInstance, stmt: roleMI, rows: roleRows("SECONDARY"), want: RoleSecondary},
		{name: "role_desc is read case-insensitively", kind: ManagedInstance, stmt: roleMI, rows: roleRows("secondary"), want: RoleSecondary},
		{name: "SQL Database reads the view in its own database", kind: SQLDatabase, stmt: roleSQLDB, rows: roleRows("PRIMARY"), want: RolePrimary},
		{name: "no row means the link is gone", kind: ManagedInstance, stmt: roleMI, rows: roleRows(), want: RoleNone},
		{name: "two rows that agree give their role", kind: ManagedInstance, stmt: roleMI, rows: roleRows("PRIMARY", "PRIMARY"), want: RolePrimary},
		{name: "two rows that disagree are Unknown with an error", kind: ManagedInstance, stmt: roleMI, rows: roleRows("PRIMARY", "SECONDARY"), want: RoleUnknown, wantCode: drerr.Unavailable},
		{name: "an unexpected role_desc is Unknown with an error", kind: ManagedInstance, stmt: roleMI, rows: roleRows("RESOLVING"), want: RoleUnknown, wantCode: drerr.Internal},
		{name: "a NULL role_desc is Unknown with an error", kind: ManagedInstance, stmt: roleMI, rows: roleRows(nil), want: RoleUnknown, wantCode: drerr.Internal},
		{name: "a driver error is Unknown and Unavailable", kind: ManagedInstance, stmt: roleMI, err: errors.New("connection reset"), want: RoleUnknown, wantCode: drerr.Unavailable},
		{name: "a missing VIEW DATABASE STATE permission is Invalid", kind: ManagedInstance, stmt: roleMI, err: mssqldrv.Error{Number: 300, Message: "VIEW DATABASE STATE permission was denied"}, want: RoleUnknown, wantCode: drerr.Invalid},
		{name: "our own deadline is Interrupted", kind: ManagedInstance, stmt: roleMI, err: context.DeadlineExceeded, want: RoleUnknown, wantCode: drerr.Interrupted},
		{name: "a refused connection is Unreachable", kind: ManagedInstance, stmt: roleMI, err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, want: RoleUnknown, wantCode: drerr.Unreachable},
		{name: "a connection not opened before our deadline is Unreachable", kind: ManagedInstance, stmt: roleMI, err: &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, want: RoleUnknown, wantCode: drerr.Unreachable},
		{name: "a server name that does not resolve is Unreachable", kind: ManagedInstance, stmt: roleMI, err: &net.DNSError{Err: "no such host", Name: "mi.example", IsNotFound: true}, want: RoleUnknown, wantCode: drerr.Unreachable},
		{name: "a connection reset while reading is Unavailable, not Unreachable", kind: ManagedInstance, stmt: roleMI, err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, want: RoleUnknown, wantCode: drerr.Unavailable},
		{name: "a dial our caller cancelled is Interrupted", kind: ManagedInstance, stmt: roleMI, err: &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, want: RoleUnknown, wantCode: drerr.Interrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := newMock(t, tt.kind)
			q := mock.ExpectQuery(tt.stmt).WithoutArgs()
			if tt.err != nil {
				q.WillReturnError(tt.err)
			} else {
				q.WillReturnRows(tt.rows)
			}
			got, err := db.Role(context.Background())
			if got != tt.want {
				t.Errorf("role = %v, want %v", got, tt.want)
			}
			checkCode(t, err, tt.wantCode)
		})
	}
}

func checkCode(t *testing.T, err error, want drerr.Code) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want code %s", want)
	case want != "" && drerr.CodeOf(err) != want:
		t.Errorf("code = %s, want %s (%v)", drerr.CodeOf(err), want, err)
	}
}

func scheduleRows() *sqlmock.Rows {
	return sqlmock.NewRows([]string{"schedule_id", "name", "enabled"}).
		AddRow(1, "Nightly load", 1).
		AddRow(2, "Hourly sync", 0).
		AddRow(3, "nightly load", 0).
		AddRow(4, "Weekly purge", 1)
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name     string
		ids      []int
		names    []string
		want     []Schedule
		wantCode drerr.Code
	}{
		{name: "no filter returns every schedule", want: []Schedule{
			{1, "Nightly load", true}, {2, "Hourly sync", false}, {3, "nightly load", false}, {4, "Weekly purge", true}}},
		{name: "ids select their schedules", ids: []int{4, 2}, want: []Schedule{
			{2, "Hourly sync", false}, {4, "Weekly purge", true}}},
		{name: "a name matches every schedule so named, ignoring case", names: []string{"NIGHTLY LOAD"}, want: []Schedule{
			{1, "Nightly load", true}, {3, "nightly load", false}}},
		{name: "ids and names combine without duplicates", ids: []int{1}, names: []string{"Nightly load"}, want: []Schedule{
			{1, "Nightly load", true}, {3, "nightly load", false}}},
		{name: "missing ids and names come back as NotFound with what was found", ids: []int{2, 9}, names: []string{"Gone"}, want: []Schedule{
			{2, "Hourly sync", false}}, wantCode: drerr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := newMock(t, ManagedInstance)
			mock.ExpectQuery(schedules).WithoutArgs().WillReturnRows(scheduleRows())
			got, err := db.Schedules(context.Background(), tt.ids, tt.names)
			checkCode(t, err, tt.wantCode)
			if !equalSchedules(got, tt.want) {
				t.Errorf("schedules = %v, want %v", got, tt.want)
			}
		})
	}
}

func equalSchedules(a, b []Schedule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSetScheduleEnabled(t *testing.T) {
	tests := []struct {
		name     string
		id       int
		enabled  bool
		wantArg  int
		err      error
		wantCode drerr.Code
	}{
		{name: "enabling sends @enabled = 1", id: 7, enabled: true, wantArg: 1},
		{name: "disabling sends @enabled = 0", id: 7, enabled: false, wantArg: 0},
		{name: "an unknown schedule id is NotFound", id: 99, enabled: true, wantArg: 1,
			err: mssqldrv.Error{Number: 14262, Message: "The specified @schedule_id ('99') does not exist."}, wantCode: drerr.NotFound},
		{name: "a dropped connection is Unavailable", id: 7, enabled: true, wantArg: 1, err: sql.ErrConnDone, wantCode: drerr.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := newMock(t, ManagedInstance)
			e := mock.ExpectExec(updateSchedule).WithArgs(tt.id, tt.wantArg)
			if tt.err != nil {
				e.WillReturnError(tt.err)
			} else {
				e.WillReturnResult(sqlmock.NewResult(0, 0))
			}
			checkCode(t, db.SetScheduleEnabled(context.Background(), tt.id, tt.enabled), tt.wantCode)
		})
	}
}

func TestEnsureSchedules(t *testing.T) {
	type update struct {
		id, enabled int
	}
	tests := []struct {
		name     string
		want     map[int]bool
		updates  []update
		changes  []Change
		wantCode drerr.Code
	}{
		{name: "schedules already right are left alone", want: map[int]bool{1: true, 2: false, 4: true}},
		{name: "only the schedules that differ are updated, in id order",
			want:    map[int]bool{1: false, 2: true, 3: false, 4: true},
			updates: []update{{1, 0}, {2, 1}},
			changes: []Change{{1, "Nightly load", false}, {2, "Hourly sync", true}}},
		{name: "a missing schedule is NotFound after the others are fixed",
			want:     map[int]bool{2: true, 9: true},
			updates:  []update{{2, 1}},
			changes:  []Change{{2, "Hourly sync", true}},
			wantCode: drerr.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := newMock(t, ManagedInstance)
			mock.ExpectQuery(schedules).WithoutArgs().WillReturnRows(scheduleRows())
			for _, u := range tt.updates {
				mock.ExpectExec(updateSchedule).WithArgs(u.id, u.enabled).WillReturnResult(sqlmock.NewResult(0, 0))
			}
			got, err := db.EnsureSchedules(context.Background(), tt.want)
			checkCode(t, err, tt.wantCode)
			if len(got) != len(tt.changes) {
				t.Fatalf("changes = %v, want %v", got, tt.changes)
			}
			for i := range got {
				if got[i] != tt.changes[i] {
					t.Errorf("changes = %v, want %v", got, tt.changes)
				}
			}
		})
	}
}

func TestEnsureSchedulesStopsAtTheFirstFailedUpdate(t *testing.T) {
	db, mock := newMock(t, ManagedInstance)
	mock.ExpectQuery(schedules).WithoutArgs().WillReturnRows(scheduleRows())
	mock.ExpectExec(updateSchedule).WithArgs(1, 0).WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec(updateSchedule).WithArgs(2, 1).WillReturnError(mssqldrv.Error{Number: 229, Message: "EXECUTE permission was denied"})
	got, err := db.EnsureSchedules(context.Background(), map[int]bool{1: false, 2: true, 4: false})
	checkCode(t, err, drerr.Invalid)
	if len(got) != 1 || got[0] != (Change{1, "Nightly load", false}) {
		t.Errorf("changes = %v, want only schedule 1", got)
	}
}

func TestFailoverIntegrationRuntime(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		factory  string
		ir       string
		err      error
		expect   bool
		wantCode drerr.Code
	}{
		{name: "Managed Instance runs the procedure with both names", kind: ManagedInstance, factory: "adf-west", ir: "ssis-ir-west", expect: true},
		{name: "SQL Database runs the same procedure", kind: SQLDatabase, factory: "adf-west", ir: "ssis-ir-west", expect: true},
		{name: "a quote in a name travels as a parameter", kind: ManagedInstance, factory: "adf'; DROP TABLE x;--", ir: "ir", expect: true},
		{name: "a missing procedure is NotFound", kind: ManagedInstance, factory: "adf", ir: "ir", expect: true,
			err: mssqldrv.Error{Number: 2812, Message: "Could not find stored procedure"}, wantCode: drerr.NotFound},
		{name: "an empty name is Invalid and sends nothing", kind: ManagedInstance, factory: "", ir: "ir", wantCode: drerr.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, mock := newMock(t, tt.kind)
			if tt.expect {
				e := mock.ExpectExec(failoverIR).WithArgs(tt.factory, tt.ir)
				if tt.err != nil {
					e.WillReturnError(tt.err)
				} else {
					e.WillReturnResult(sqlmock.NewResult(0, 0))
				}
			}
			checkCode(t, db.FailoverIntegrationRuntime(context.Background(), tt.factory, tt.ir), tt.wantCode)
		})
	}
}

func TestSQLDatabaseRefusesScheduleCallsWithoutTouchingTheDatabase(t *testing.T) {
	calls := []struct {
		name string
		call func(*DB) error
	}{
		{"Schedules", func(d *DB) error { _, err := d.Schedules(context.Background(), []int{1}, nil); return err }},
		{"SetScheduleEnabled", func(d *DB) error { return d.SetScheduleEnabled(context.Background(), 1, true) }},
		{"EnsureSchedules", func(d *DB) error {
			_, err := d.EnsureSchedules(context.Background(), map[int]bool{1: true})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name+" is refused as Invalid", func(t *testing.T) {
			db, _ := newMock(t, SQLDatabase) // no expectations: any statement fails the test
			err := c.call(db)
			checkCode(t, err, drerr.Invalid)
			if !errors.Is(err, ErrNoAgent) {
				t.Errorf("error %v does not wrap ErrNoAgent", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "a SQL Database host name opens without dialling", cfg: Config{Server: "myserver.database.windows.net", Kind: SQLDatabase}, ok: true},
		{name: "a Managed Instance public endpoint with its port opens", cfg: Config{Server: "mi.public.abc123.database.windows.net:3342", ClientID: "00000000-0000-0000-0000-000000000001", Kind: ManagedInstance}, ok: true},
		{name: "an empty server is refused", cfg: Config{Kind: SQLDatabase}},
		{name: "a server with a space is refused", cfg: Config{Server: "my server.database.windows.net", Kind: SQLDatabase}},
		{name: "a server with a non-numeric port is refused", cfg: Config{Server: "myserver.database.windows.net:abc", Kind: SQLDatabase}},
		{name: "a server with an out-of-range port is refused", cfg: Config{Server: "myserver.database.windows.net:70000", Kind: SQLDatabase}},
		{name: "a server that smuggles connection-string keys is refused", cfg: Config{Server: "x;fedauth=ActiveDirectoryPassword;password=hunter2", Kind: SQLDatabase}},
		{name: "a URL instead of a host name is refused", cfg: Config{Server: "sqlserver://myserver.database.windows.net", Kind: SQLDatabase}},
		{name: "an unknown kind is refused", cfg: Config{Server: "myserver.database.windows.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if db.Kind() != tt.cfg.Kind {
					t.Errorf("kind = %v, want %v", db.Kind(), tt.cfg.Kind)
				}
				if err := db.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				return
			}
			if err == nil {
				_ = db.Close() // the test fails on the line below either way
				t.Fatal("Open succeeded, want an error")
			}
			checkCode(t, err, drerr.Invalid)
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}
