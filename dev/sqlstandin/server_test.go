package sqlstandin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"integration-dr/mssql"
)

// TestProtocol pins the wire format that the package documentation describes,
// through the Server as an http.Handler.
func TestProtocol(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantBody   string // the exact JSON answer, when wantNumber is not checked
		wantNumber int32  // the SQL error number of an error answer
	}{
		{name: "role rows", method: "GET", path: "/" + west + "/role", wantStatus: 200, wantBody: `{"rows":["PRIMARY"]}`},
		{name: "hosts ignore case", method: "GET", path: "/" + strings.ToUpper(west) + "/role", wantStatus: 200, wantBody: `{"rows":["PRIMARY"]}`},
		{name: "no row is an empty list", method: "GET", path: "/" + east + "/role", wantStatus: 200, wantBody: `{"rows":[]}`},
		{name: "schedules by id", method: "GET", path: "/" + west + "/schedules", wantStatus: 200,
			wantBody: `{"rows":[{"id":1,"name":"Nightly load","enabled":true},{"id":2,"name":"Hourly sync","enabled":false}]}`},
		{name: "no schedules is an empty list", method: "GET", path: "/" + east + "/schedules", wantStatus: 200, wantBody: `{"rows":[]}`},
		{name: "msdb is not there on SQL Database", method: "GET", path: "/" + sqlw + "/schedules", wantStatus: 400, wantNumber: errNoCrossDatabase},
		{name: "a schedule update", method: "POST", path: "/" + west + "/schedules/2", body: `{"enabled":true}`, wantStatus: 204},
		{name: "an unknown schedule", method: "POST", path: "/" + west + "/schedules/9", body: `{"enabled":true}`, wantStatus: 404, wantNumber: errScheduleNotFound},
		{name: "a schedule id that is not an int", method: "POST", path: "/" + west + "/schedules/x", body: `{"enabled":true}`, wantStatus: 400},
		{name: "a schedule update without enabled", method: "POST", path: "/" + west + "/schedules/2", body: `{}`, wantStatus: 400},
		{name: "a schedule update with an unknown field", method: "POST", path: "/" + west + "/schedules/2", body: `{"enabled":true,"id":3}`, wantStatus: 400},
		{name: "failover_integration_runtime", method: "POST", path: "/" + west + "/failover-integration-runtime",
			body: `{"dataFactory":"adf-east","integrationRuntime":"ir-east"}`, wantStatus: 204},
		{name: "failover_integration_runtime without names", method: "POST", path: "/" + west + "/failover-integration-runtime", body: `{}`, wantStatus: 400},
		{name: "failover_integration_runtime on a geo-secondary", method: "POST", path: "/" + sqlw + "/failover-integration-runtime",
			body: `{"dataFactory":"adf-east","integrationRuntime":"ir-east"}`, wantStatus: 400, wantNumber: errReadOnly},
		{name: "no jobs is an empty list", method: "GET", path: "/" + west + "/jobs", wantStatus: 200, wantBody: `{"rows":[]}`},
		{name: "msdb's jobs are not there on SQL Database", method: "GET", path: "/" + sqlw + "/jobs", wantStatus: 400, wantNumber: errNoCrossDatabase},
		{name: "a host without an SSISDB", method: "GET", path: "/nowhere.database.windows.net/role", wantStatus: 502},
		{name: "a method the route does not take", method: "DELETE", path: "/" + west + "/role", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
			must(t, s.PutSchedule(west, 2, "Hourly sync", false))
			must(t, s.PutSchedule(west, 1, "Nightly load", true))
			must(t, s.PutSSISDB(east, mssql.ManagedInstance, fixed("", false)))
			must(t, s.PutSSISDB(sqlw, mssql.SQLDatabase, fixed("SECONDARY", true)))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.wantStatus, w.Body)
			}
			switch {
			case tt.wantStatus == http.StatusNoContent:
				if w.Body.Len() != 0 {
					t.Errorf("body = %s, want none", w.Body)
				}
			case tt.wantStatus < 300:
				if !sameJSON(t, w.Body.String(), tt.wantBody) {
					t.Errorf("body = %s, want %s", w.Body, tt.wantBody)
				}
			case tt.wantStatus != http.StatusMethodNotAllowed:
				var e errorReply
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Number != tt.wantNumber || e.Error.Message == "" {
					t.Errorf("body = %s, want an error with number %d", w.Body, tt.wantNumber)
				}
			}
		})
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	return reflect.DeepEqual(x, y)
}

func TestSetUpIsChecked(t *testing.T) {
	s := New()
	must(t, s.PutSSISDB(west, mssql.ManagedInstance, fixed("PRIMARY", true)))
	tests := []struct {
		name string
		err  error
	}{
		{"an SSISDB needs a host name", s.PutSSISDB("not a host", mssql.ManagedInstance, fixed("PRIMARY", true))},
		{"an SSISDB needs a known kind", s.PutSSISDB(east, 0, fixed("PRIMARY", true))},
		{"an SSISDB needs a role source", s.PutSSISDB(east, mssql.ManagedInstance, nil)},
		{"a schedule needs an SSISDB", s.PutSchedule(east, 1, "Nightly", true)},
		{"a schedule needs a positive id", s.PutSchedule(west, 0, "Nightly", true)},
		{"a forced role needs an SSISDB", s.SetRoleRows(east, "PRIMARY")},
		{"following the source needs an SSISDB", s.FollowRoleSource(east)},
		{"a group needs an SSISDB", s.SetGroup(east, "rg-east")},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if got := s.Schedules(west); len(got) != 0 {
		t.Errorf("schedules = %v, want none", got)
	}
}
