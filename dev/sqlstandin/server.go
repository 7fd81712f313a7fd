package sqlstandin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"integration-dr/mssql"
)

// RoleSource gives SSISDB's geo-replication role_desc ("PRIMARY" or "SECONDARY") as
// the host sees it at the time of the call; ok=false is no row (no link). Tests wire
// it to a stand-in failover group, so that roles swap when the group fails over.
type RoleSource func() (role string, ok bool)

// MemberRoles is a stand-in failover group's roles (dev/armstandin.Server has them).
// An interface, so that this package need not depend on the ARM stand-in.
type MemberRoles interface {
	// MemberRole is member's (0 or 1) role in failover group fgName, as ARM spells it
	// ("Primary"), and whether both exist.
	MemberRole(fgName string, member int) (role string, ok bool)
}

// FollowMember is a RoleSource reading member's role in failover group fgName at
// each call, spelt as role_desc spells it ("PRIMARY"). No such failover group is no
// row, as when the link has been removed.
func FollowMember(fgs MemberRoles, fgName string, member int) RoleSource {
	return func() (string, bool) {
		role, ok := fgs.MemberRole(fgName, member)
		return strings.ToUpper(role), ok
	}
}

// Call is one statement that reached a host's SSISDB.
type Call struct {
	At    time.Time // when it was served
	Op    string    // "role", "schedules", "update_schedule 3 enabled=1", "failover_integration_runtime adf-east ir-east"
	Error string    // the SQL error it raised, "" when it succeeded
}

// Server is the in-memory stand-in: one SSISDB per SQL endpoint host. Use New, then
// Start or ServeHTTP. Its methods are safe for concurrent use.
type Server struct {
	mux *http.ServeMux

	mu          sync.Mutex
	dbs         map[string]*ssisdb // by host key
	unreachable map[string]bool    // by host key; set whether or not the host has an SSISDB
	groupDown   func(group string) bool
}

// ssisdb is one host's SSISDB (and, on Managed Instance, msdb's schedules).
type ssisdb struct {
	kind     mssql.Kind
	source   RoleSource
	override bool     // rows replace source's answer
	rows     []string // role_desc rows while override is set
	group    string
	sched    map[int]mssql.Schedule
	jobs     map[string]mssql.AgentJob // by lower-case name; schedules' enabled comes from sched
	calls    []Call
}

// New returns a stand-in without any SSISDB.
func New() *Server {
	s := &Server{dbs: map[string]*ssisdb{}, unreachable: map[string]bool{}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{host}/role", s.serve(s.role))
	s.mux.HandleFunc("GET /{host}/schedules", s.serve(s.schedules))
	s.mux.HandleFunc("POST /{host}/schedules/{id}", s.serve(s.updateSchedule))
	s.mux.HandleFunc("POST /{host}/failover-integration-runtime", s.serve(s.failoverIR))
	s.mux.HandleFunc("GET /{host}/jobs", s.serve(s.agentJobs))
	return s
}

// key is how hosts are filed: without a port (one instance answers on each of its
// ports) and in lower case (DNS names are case-insensitive).
func key(host string) string {
	if h, _, err := mssql.SplitServer(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// PutSSISDB creates (or replaces, starting afresh) the SSISDB at host (a host name,
// with or without ":port") on a server of kind, whose role role gives.
func (s *Server) PutSSISDB(host string, kind mssql.Kind, role RoleSource) error {
	if _, _, err := mssql.SplitServer(host); err != nil {
		return err
	}
	if kind != mssql.ManagedInstance && kind != mssql.SQLDatabase {
		return fmt.Errorf("unknown server kind %v", kind)
	}
	if role == nil {
		return errors.New("a role source is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dbs[key(host)] = &ssisdb{kind: kind, source: role, sched: map[int]mssql.Schedule{}, jobs: map[string]mssql.AgentJob{}}
	return nil
}

// PutSchedule creates or replaces SQL Agent schedule id at host. Only a Managed
// Instance has SQL Agent.
func (s *Server) PutSchedule(host string, id int, name string, enabled bool) error {
	return s.with(host, func(db *ssisdb) error {
		if db.kind != mssql.ManagedInstance {
			return fmt.Errorf("host %s is %v: it has no SQL Agent", host, db.kind)
		}
		if id <= 0 {
			return fmt.Errorf("schedule id %d: want a positive id", id)
		}
		db.sched[id] = mssql.Schedule{ID: id, Name: name, Enabled: enabled}
		return nil
	})
}

// SetRoleRows makes host answer exactly these role_desc rows, whatever its role
// source says: none is no row, "PRIMARY", "SECONDARY" links that disagree, and any
// other value one the product does not know.
func (s *Server) SetRoleRows(host string, rows ...string) error {
	return s.with(host, func(db *ssisdb) error {
		db.override, db.rows = true, slices.Clone(rows)
		return nil
	})
}

// FollowRoleSource undoes SetRoleRows: host answers from its role source again.
func (s *Server) FollowRoleSource(host string) error {
	return s.with(host, func(db *ssisdb) error {
		db.override, db.rows = false, nil
		return nil
	})
}

// SetGroup files host under a resource group, so that the func given to
// SetGroupUnreachable decides its reachability too.
func (s *Server) SetGroup(host, group string) error {
	return s.with(host, func(db *ssisdb) error {
		db.group = group
		return nil
	})
}

// SetGroupUnreachable installs the func consulted, with a host's group, on every
// request to a host filed under a group (nil: none). It lets one switch, such as the
// one taking a whole region down in the ARM stand-in, cover SQL too.
func (s *Server) SetGroupUnreachable(down func(group string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupDown = down
}

// SetUnreachable makes host close every connection without an answer, as a server in
// a region that is down would, until set back.
func (s *Server) SetUnreachable(host string, unreachable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if unreachable {
		s.unreachable[key(host)] = true
	} else {
		delete(s.unreachable, key(host))
	}
}

// Schedules returns host's SQL Agent schedules by id; none when host has no SSISDB.
func (s *Server) Schedules(host string) []mssql.Schedule {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.dbs[key(host)]; db != nil {
		return db.schedules()
	}
	return nil
}

// Calls returns the statements that reached host's SSISDB, oldest first.
func (s *Server) Calls(host string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.dbs[key(host)]; db != nil {
		return slices.Clone(db.calls)
	}
	return nil
}

// with runs f on host's SSISDB under the lock.
func (s *Server) with(host string, f func(*ssisdb) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db := s.dbs[key(host)]
	if db == nil {
		return fmt.Errorf("no SSISDB at host %s", host)
	}
	return f(db)
}

func (db *ssisdb) schedules() []mssql.Schedule {
	return slices.SortedFunc(maps.Values(db.sched), func(a, b mssql.Schedule) int { return cmp.Compare(a.ID, b.ID) })
}

// Start serves on 127.0.0.1 at port (0: any free one) until ctx ends. It returns the
// base URL for NewClient.
func (s *Server) Start(ctx context.Context, port int) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}

// ServeHTTP serves the protocol described in the package documentation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// serve resolves the path's host: an unreachable one hangs up, one without an SSISDB
// is a connection failure; otherwise h answers.
func (s *Server) serve(h func(http.ResponseWriter, *http.Request, *ssisdb)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host := key(r.PathValue("host"))
		s.mu.Lock()
		db, down, groupDown := s.dbs[host], s.unreachable[host], s.groupDown
		group := ""
		if db != nil {
			group = db.group
		}
		s.mu.Unlock()
		// Outside the lock: the func may well take a lock of another stand-in's.
		if !down && group != "" && groupDown != nil {
			down = groupDown(group)
		}
		switch {
		case down:
			hangUp(w)
		case db == nil:
			writeError(w, http.StatusBadGateway, 0, "no SSISDB stand-in at host "+host)
		default:
			h(w, r, db)
		}
	}
}

// roleRows is what sys.dm_geo_replication_link_status returns now. The source is
// called outside the lock, as it may belong to another stand-in.
func (s *Server) roleRows(db *ssisdb) []string {
	s.mu.Lock()
	override, rows, source := db.override, slices.Clone(db.rows), db.source
	s.mu.Unlock()
	if override {
		return rows
	}
	if role, ok := source(); ok {
		return []string{role}
	}
	return nil
}

func (s *Server) role(w http.ResponseWriter, r *http.Request, db *ssisdb) {
	rows := s.roleRows(db)
	s.record(db, "role", nil)
	writeJSON(w, roleReply{Rows: nonNil(rows)})
}

func (s *Server) schedules(w http.ResponseWriter, r *http.Request, db *ssisdb) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := noMSDB(db, "msdb.dbo.sysschedules"); err != nil {
		db.log("schedules", err)
		writeSQLError(w, err)
		return
	}
	rows := []scheduleRow{}
	for _, sc := range db.schedules() {
		rows = append(rows, scheduleRow(sc))
	}
	db.log("schedules", nil)
	writeJSON(w, schedulesReply{Rows: rows})
}

func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request, db *ssisdb) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, 0, "schedule id is not an int")
		return
	}
	b, ok := decode[enabledBody](w, r)
	if !ok {
		return
	}
	if b.Enabled == nil {
		writeError(w, http.StatusBadRequest, 0, `"enabled" is required`)
		return
	}
	op := fmt.Sprintf("update_schedule %d enabled=%d", id, bit(*b.Enabled))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := noMSDB(db, "msdb.dbo.sp_update_schedule"); err != nil {
		db.log(op, err)
		writeSQLError(w, err)
		return
	}
	sc, ok := db.sched[id]
	if !ok {
		err := &sqlError{Number: errScheduleNotFound, Message: fmt.Sprintf("The specified @schedule_id ('%d') does not exist.", id)}
		db.log(op, err)
		writeSQLError(w, err)
		return
	}
	sc.Enabled = *b.Enabled
	db.sched[id] = sc
	db.log(op, nil)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) failoverIR(w http.ResponseWriter, r *http.Request, db *ssisdb) {
	b, ok := decode[failoverBody](w, r)
	if !ok {
		return
	}
	if b.DataFactory == "" || b.IntegrationRuntime == "" {
		writeError(w, http.StatusBadRequest, 0, `"dataFactory" and "integrationRuntime" are required`)
		return
	}
	op := "failover_integration_runtime " + b.DataFactory + " " + b.IntegrationRuntime
	// The procedure writes to SSISDB, which is read-only where it is a geo-secondary.
	var err *sqlError
	if role, _ := mssql.RoleOf(s.roleRows(db)); role == mssql.RoleSecondary {
		err = &sqlError{Number: errReadOnly, Message: `Failed to update database "SSISDB" because the database is read-only.`}
	}
	s.record(db, op, err)
	if err != nil {
		writeSQLError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) record(db *ssisdb, op string, err *sqlError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	db.log(op, err)
}

// log appends a call; the caller holds the lock. It runs before the answer is
// written, so that a client that has its answer finds its call logged.
func (db *ssisdb) log(op string, err *sqlError) {
	c := Call{At: time.Now(), Op: op}
	if err != nil {
		c.Error = err.Error()
	}
	db.calls = append(db.calls, c)
}

// noMSDB is the error Azure SQL Database raises for a name in msdb: it has no
// cross-database names, and no SQL Agent.
func noMSDB(db *ssisdb, name string) *sqlError {
	if db.kind != mssql.SQLDatabase {
		return nil
	}
	return &sqlError{Number: errNoCrossDatabase, Message: fmt.Sprintf("Reference to database and/or server name in '%s' is not supported in this version of SQL Server.", name)}
}

// hangUp closes the request's connection without an answer: the client sees a
// transport error, as from a server it cannot reach.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// decode reads a JSON body of at most 64 KiB with no unknown fields; on failure it
// answers 400 and reports false.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var v T
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		writeError(w, http.StatusBadRequest, 0, "bad body: "+err.Error())
		return v, false
	}
	return v, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeSQLError answers with the error a statement raised; the status is only a
// rough reading of it, as clients go by the number.
func writeSQLError(w http.ResponseWriter, err *sqlError) {
	status := http.StatusBadRequest
	if err.Number == errScheduleNotFound {
		status = http.StatusNotFound
	}
	writeError(w, status, err.Number, err.Message)
}

func writeError(w http.ResponseWriter, status int, number int32, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorReply{Error: sqlError{Number: number, Message: msg}})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}
