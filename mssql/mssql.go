// Package mssql reads and changes what an Azure-SSIS IR dual-standby pair needs on the
// SQL side: SSISDB's geo-replication role, SQL Agent schedules (Managed Instance
// only) and the catalog's failover_integration_runtime. It is the only package that
// speaks T-SQL; every statement lives in statements.go.
package mssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	mssqldrv "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"

	"integration-dr/drerr"
)

// SSISDB is what the SSIS reconcile needs from the database side.
type SSISDB interface {
	// Role is SSISDB's geo-replication role; RoleNone when no link exists.
	Role(ctx context.Context) (Role, error)
	// Schedules returns the SQL Agent schedules with the given ids or names.
	Schedules(ctx context.Context, ids []int, names []string) ([]Schedule, error)
	// SetScheduleEnabled enables or disables one schedule.
	SetScheduleEnabled(ctx context.Context, id int, enabled bool) error
	// EnsureSchedules brings schedules to the wanted state, changing only those
	// that differ.
	EnsureSchedules(ctx context.Context, want map[int]bool) ([]Change, error)
	// FailoverIntegrationRuntime attaches SSISDB to another data factory's IR.
	FailoverIntegrationRuntime(ctx context.Context, dataFactory, irName string) error
}

var _ SSISDB = (*DB)(nil)

// Kind is the kind of server hosting SSISDB.
type Kind int

const (
	// ManagedInstance has SQL Agent (msdb) next to SSISDB.
	ManagedInstance Kind = iota + 1
	// SQLDatabase is Azure SQL Database: no SQL Agent, no cross-database names.
	SQLDatabase
)

func (k Kind) String() string {
	switch k {
	case ManagedInstance:
		return "ManagedInstance"
	case SQLDatabase:
		return "SQLDatabase"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Role is SSISDB's geo-replication role as this server sees it.
type Role int

const (
	// RoleUnknown: the role could not be told (an error says why).
	RoleUnknown Role = iota
	// RolePrimary: SSISDB here is read-write.
	RolePrimary
	// RoleSecondary: SSISDB here is a read-only replica.
	RoleSecondary
	// RoleNone: SSISDB has no geo-replication link (removed, or never made).
	RoleNone
)

func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "Primary"
	case RoleSecondary:
		return "Secondary"
	case RoleNone:
		return "None"
	}
	return "Unknown"
}

// Schedule is one SQL Agent schedule.
type Schedule struct {
	ID      int
	Name    string
	Enabled bool
}

// Change is one schedule EnsureSchedules changed.
type Change struct {
	ID      int
	Name    string
	Enabled bool // the state it was set to
}

// Database is the database every connection opens: the SSIS catalog.
const Database = "SSISDB"

// Config says where SSISDB is and which managed identity signs in.
type Config struct {
	// Server is the host name, optionally with ":port", e.g.
	// "myserver.database.windows.net" or "mi.public.abc.database.windows.net:3342".
	Server string
	// ClientID is the client id of a user-assigned managed identity; empty for the
	// system-assigned one.
	ClientID string
	Kind     Kind
}

// DB is SSISDB on one server.
type DB struct {
	db   *sql.DB
	kind Kind
}

var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// Open builds a connector signing in with the managed identity and wraps it in a
// *sql.DB. Nothing is dialled; a malformed configuration fails here, not at first use.
func Open(cfg Config) (*DB, error) {
	const op = "open SSISDB"
	if cfg.Kind != ManagedInstance && cfg.Kind != SQLDatabase {
		return nil, drerr.Errorf(drerr.Invalid, op, "unknown server kind %v", cfg.Kind)
	}
	host, port, err := SplitServer(cfg.Server)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	q := url.Values{}
	q.Set("database", Database)
	q.Set("fedauth", azuread.ActiveDirectoryManagedIdentity)
	q.Set("encrypt", "true")
	if cfg.ClientID != "" {
		q.Set("user id", cfg.ClientID)
	}
	u := url.URL{Scheme: "sqlserver", Host: host, RawQuery: q.Encode()}
	if port != "" {
		u.Host = net.JoinHostPort(host, port)
	}
	c, err := azuread.NewConnector(u.String())
	if err != nil {
		// The driver's parse errors name keys and values, never the whole string.
		return nil, drerr.Errorf(drerr.Invalid, op, "server %q: %v", cfg.Server, err)
	}
	return &DB{db: sql.OpenDB(c), kind: cfg.Kind}, nil
}

// SplitServer checks a Config.Server value and splits it into host and port (""
// when there is none). Its error never echoes server: a connection string pasted
// there would leak into logs.
func SplitServer(server string) (host, port string, err error) {
	host = server
	if h, p, err := net.SplitHostPort(server); err == nil {
		host, port = h, p
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", "", errors.New("server: bad port (want 1-65535)")
		}
	}
	if len(host) > 253 || !hostname.MatchString(host) {
		return "", "", errors.New("server is not a host name[:port]")
	}
	return host, port, nil
}

// New wraps an open *sql.DB (tests, or a caller that built its own).
func New(db *sql.DB, kind Kind) *DB { return &DB{db: db, kind: kind} }

// Close closes the pool.
func (d *DB) Close() error { return d.db.Close() }

// Kind is the server kind this DB was built for.
func (d *DB) Kind() Kind { return d.kind }

// Role reads SSISDB's geo-replication role. No row is RoleNone (the link is gone);
// rows that disagree, or a role it does not know, are RoleUnknown with an error.
func (d *DB) Role(ctx context.Context) (Role, error) {
	stmt := roleMI
	if d.kind == SQLDatabase {
		stmt = roleSQLDB
	}
	rows, err := d.db.QueryContext(ctx, stmt)
	if err != nil {
		return RoleUnknown, wrap(opRole, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err, checked below, says whether the read was whole
	var descs []string
	for rows.Next() {
		var desc sql.NullString // NULL reads as "", which RoleOf refuses
		if err := rows.Scan(&desc); err != nil {
			return RoleUnknown, wrap(opRole, err)
		}
		descs = append(descs, desc.String)
	}
	if err := rows.Err(); err != nil {
		return RoleUnknown, wrap(opRole, err)
	}
	return RoleOf(descs)
}

const opRole = "read SSISDB replication role"

// RoleOf reads the role_desc values of sys.dm_geo_replication_link_status, in the
// order the server returned them. No row is RoleNone (the link is gone); rows that
// all say PRIMARY or all SECONDARY (compared case-insensitively) give that role.
// Rows that disagree are RoleUnknown with a drerr.Unavailable error, and a value it
// does not know (NULL reads as "") RoleUnknown with a drerr.Internal one.
func RoleOf(descs []string) (Role, error) {
	// An answer that cannot be one role is not "no answer": ErrInconsistentRole lets a
	// caller tell the two apart.
	role, seen := RoleNone, false
	for _, desc := range descs {
		r := parseRole(desc)
		if r == RoleUnknown {
			return RoleUnknown, drerr.E(drerr.Internal, opRole, fmt.Errorf("%w: unexpected role_desc %q", ErrInconsistentRole, desc))
		}
		if seen && r != role {
			// Links caught mid-failover can disagree; asking again later can help.
			return RoleUnknown, drerr.E(drerr.Unavailable, opRole, fmt.Errorf("%w: replication links disagree: %v and %v", ErrInconsistentRole, role, r))
		}
		role, seen = r, true
	}
	return role, nil
}

func parseRole(desc string) Role {
	switch strings.ToUpper(strings.TrimSpace(desc)) {
	case "PRIMARY":
		return RolePrimary
	case "SECONDARY":
		return RoleSecondary
	}
	return RoleUnknown
}

// Schedules returns the schedules whose id is in ids or whose name is in names
// (names compared case-insensitively, as msdb's collation does; a name can match
// several schedules), ordered by id. With neither, it returns every schedule. It
// returns what it found together with a NotFound error naming whatever is missing.
func (d *DB) Schedules(ctx context.Context, ids []int, names []string) ([]Schedule, error) {
	if err := RequireAgent(d.kind, opSchedules); err != nil {
		return nil, err
	}
	all, err := d.allSchedules(ctx, opSchedules)
	if err != nil {
		return nil, err
	}
	return SelectSchedules(all, ids, names)
}

const opSchedules = "read SQL Agent schedules"

// SelectSchedules picks from all (every schedule, as msdb.dbo.sysschedules lists
// them) those whose id is in ids or whose name is in names, keeping their order.
// Names compare case-insensitively, as msdb's collation does, and a name can match
// several schedules. With neither ids nor names it returns all. It returns what it
// found together with a drerr.NotFound error naming whatever is missing.
func SelectSchedules(all []Schedule, ids []int, names []string) ([]Schedule, error) {
	if len(ids) == 0 && len(names) == 0 {
		return all, nil
	}
	var out []Schedule
	foundID := map[int]bool{}
	foundName := map[string]bool{}
	for _, s := range all {
		hit := false
		if slices.Contains(ids, s.ID) {
			foundID[s.ID], hit = true, true
		}
		for _, n := range names {
			if strings.EqualFold(n, s.Name) {
				foundName[strings.ToLower(n)], hit = true, true
			}
		}
		if hit {
			out = append(out, s)
		}
	}
	var missing []string
	for _, id := range ids {
		if !foundID[id] {
			missing = append(missing, "id "+strconv.Itoa(id))
		}
	}
	for _, n := range names {
		if !foundName[strings.ToLower(n)] {
			missing = append(missing, strconv.Quote(n))
		}
	}
	if len(missing) > 0 {
		return out, drerr.Errorf(drerr.NotFound, opSchedules, "no schedule %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func (d *DB) allSchedules(ctx context.Context, op string) ([]Schedule, error) {
	rows, err := d.db.QueryContext(ctx, schedules)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer func() { _ = rows.Close() }() // rows.Err, checked below, says whether the read was whole
	var out []Schedule
	for rows.Next() {
		var s Schedule
		var enabled int64
		if err := rows.Scan(&s.ID, &s.Name, &enabled); err != nil {
			return nil, wrap(op, err)
		}
		s.Enabled = enabled != 0
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// SetScheduleEnabled enables or disables schedule id through sp_update_schedule.
func (d *DB) SetScheduleEnabled(ctx context.Context, id int, enabled bool) error {
	op := fmt.Sprintf("set SQL Agent schedule %d enabled=%t", id, enabled)
	if err := RequireAgent(d.kind, op); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, updateSchedule, id, bit(enabled)); err != nil {
		return wrap(op, err)
	}
	return nil
}

// EnsureSchedules reads the schedules in want and updates, in id order, only those
// whose enabled state differs. It returns the changes made; on an error, those made
// before it. Schedules that do not exist are reported with a NotFound error after
// the others have been brought to the wanted state.
func (d *DB) EnsureSchedules(ctx context.Context, want map[int]bool) ([]Change, error) {
	const op = "ensure SQL Agent schedules"
	if err := RequireAgent(d.kind, op); err != nil {
		return nil, err
	}
	if len(want) == 0 {
		return nil, nil
	}
	ids := make([]int, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	have, missing := d.Schedules(ctx, ids, nil)
	if missing != nil && !drerr.Is(missing, drerr.NotFound) {
		return nil, missing
	}
	var changes []Change
	for _, s := range have {
		if s.Enabled == want[s.ID] {
			continue
		}
		if err := d.SetScheduleEnabled(ctx, s.ID, want[s.ID]); err != nil {
			return changes, err
		}
		changes = append(changes, Change{ID: s.ID, Name: s.Name, Enabled: want[s.ID]})
	}
	return changes, missing
}

// FailoverIntegrationRuntime runs catalog.failover_integration_runtime so that data
// factory dataFactory's integration runtime irName may use this SSISDB.
func (d *DB) FailoverIntegrationRuntime(ctx context.Context, dataFactory, irName string) error {
	op := fmt.Sprintf("attach SSISDB to integration runtime %s/%s", dataFactory, irName)
	if dataFactory == "" || irName == "" {
		return drerr.Errorf(drerr.Invalid, op, "data factory and integration runtime names are required")
	}
	if _, err := d.db.ExecContext(ctx, failoverIR, dataFactory, irName); err != nil {
		return wrap(op, err)
	}
	return nil
}

// ErrInconsistentRole is wrapped by a role reading that SSISDB answered with rows that
// disagree (a failover in progress) or with a role it does not know.
var ErrInconsistentRole = errors.New("SSISDB's replication role is inconsistent")

// ErrNoAgent is wrapped by schedule calls on Azure SQL Database.
//
//nolint:staticcheck // ST1005: the message starts with a product's name, not a capitalised word.
var ErrNoAgent = errors.New("Azure SQL Database has no SQL Agent: only ADF triggers and integration runtimes follow the role")

// RequireAgent is nil where SQL Agent exists, and for SQLDatabase a drerr.Invalid
// error for op wrapping ErrNoAgent: schedule calls fail there before sending anything.
func RequireAgent(kind Kind, op string) error {
	if kind == SQLDatabase {
		return drerr.E(drerr.Invalid, op, ErrNoAgent)
	}
	return nil
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SQL Server error numbers that retrying cannot fix.
const (
	errPermissionDenied = 229   // The %s permission was denied on the object
	errServerPermission = 300   // %s permission was denied on object
	errNoPermission     = 262   // %s permission denied in database
	errUserNoPermission = 15247 // User does not have permission to perform this action.
	errProcNotFound     = 2812  // Could not find stored procedure
	errScheduleNotFound = 14262 // The specified @schedule_id ('%s') does not exist.
	errInvalidObject    = 208   // Invalid object name
)

// wrap returns err wrapped in a *drerr.Error whose code says what the caller can do:
// a connection that could not be opened at all (refused, unresolvable, or not open
// before the call's deadline) is Unreachable, the only code that says the server may
// be down; our own deadline or cancellation otherwise is Interrupted; a server answer
// retrying cannot change is Invalid or NotFound; anything else (a dropped connection,
// sign-in, failover in progress) is Unavailable. Driver errors carry no connection
// string or token.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if notConnected(err) && !errors.Is(err, context.Canceled) {
		return drerr.E(drerr.Unreachable, op, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return drerr.E(drerr.Interrupted, op, err)
	}
	var se mssqldrv.Error
	if errors.As(err, &se) {
		return drerr.E(ErrorNumberCode(se.Number), op, err)
	}
	return drerr.E(drerr.Unavailable, op, err)
}

// notConnected says whether err is a failure to open a connection: a dial that
// failed, or a server name that does not resolve (go-mssqldb returns the net
// package's errors from its dialer as they are).
func notConnected(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) && oe.Op == "dial" || errors.As(err, &de)
}

// ErrorNumberCode is the code of an error the server raised with number: NotFound
// for a missing schedule, procedure or object, Invalid for a missing permission,
// and Unavailable for anything else (failover in progress, throttling, ...), which
// asking again later may cure.
func ErrorNumberCode(number int32) drerr.Code {
	switch number {
	case errScheduleNotFound, errProcNotFound, errInvalidObject:
		return drerr.NotFound
	case errPermissionDenied, errServerPermission, errNoPermission, errUserNoPermission:
		return drerr.Invalid
	}
	return drerr.Unavailable
}
