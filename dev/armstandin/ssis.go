package armstandin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	adffake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/datafactory/armdatafactory/v9/fake"
	sqlfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql/fake"
)

// The SSIS slice: the ARM side of an Azure-SSIS integration runtime dual-standby pair.
// SQL failover groups of both kinds (sql.go), Data Factory integration runtimes and
// triggers (datafactory.go), and the long-running operations on them (lro.go). All of
// it belongs to resource groups, not integration accounts: requests are filed under
// the account "" of the resource group in their path, as workflows are, so the
// group's clock, reachability, stats and writes apply.

// ssisState is the SSIS slice's state. Lock order: ssisState.mu before Server.mu
// (writes are recorded under it, so that Writes and Events agree on order).
type ssisState struct {
	mu       sync.Mutex
	fgs      map[string]*failoverGroup      // by lower-case name
	runtimes map[string]*integrationRuntime // by key(group, factory+"/"+name)
	triggers map[string]*trigger            // by key(group, factory+"/"+name)
	ops      map[string]*operation          // long-running operations by id
	// pollsToComplete is the need of the operations begun from now on.
	pollsToComplete int
	events          []Event
}

func newSSISState() *ssisState {
	return &ssisState{
		fgs: map[string]*failoverGroup{}, runtimes: map[string]*integrationRuntime{}, triggers: map[string]*trigger{},
		ops: map[string]*operation{}, pollsToComplete: DefaultPollsToComplete,
	}
}

// The phases of an Event.
const (
	// PhaseBegun: the request was accepted (202) and a long-running operation began.
	PhaseBegun = "begun"
	// PhaseCompleted: the operation completed, in a poll or in the request's own
	// answer (ID ""), and its state change took effect.
	PhaseCompleted = "completed"
)

// Event is one step of an operation the SSIS slice served: the log in which tests
// assert the order of failovers, integration runtime starts and stops, and trigger
// changes across resource groups. Requests refused (4xx) are not in it.
type Event struct {
	Seq   int       // 1, 2, ... in the order the steps happened, across the stand-in
	Op    string    // as in Write.Op: "failoverGroups.failover", "integrationRuntimes.start", ...
	Phase string    // PhaseBegun or PhaseCompleted
	Group string    // the resource group of the request that began it
	Name  string    // the failover group, integration runtime or trigger
	ID    string    // the long-running operation's id; "" when answered at once
	At    time.Time // the machine's clock, as Write.At
}

// String is "op phase name", for test failures and comparisons.
func (e Event) String() string { return e.Op + " " + e.Phase + " " + e.Name }

// Events returns the SSIS slice's operation log, oldest first.
func (s *Server) Events() []Event {
	s.ssis.mu.Lock()
	defer s.ssis.mu.Unlock()
	return append([]Event(nil), s.ssis.events...)
}

func (st *ssisState) logLocked(at time.Time, op, phase, group, name, id string) {
	st.events = append(st.events, Event{Seq: len(st.events) + 1, Op: op, Phase: phase, Group: group, Name: name, ID: id, At: at})
}

// recordLocked records a write through the SSIS slice under the resource group, while
// s.ssis.mu is held so that it takes its place in order with the events.
func (s *Server) recordLocked(group, op, name string, content map[string]string) {
	raw, _ := json.Marshal(content)
	s.recordWrite(group, "", op, name, raw)
}

var (
	sqlDBPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Sql/servers/([^/]+)/failoverGroups/([^/]+)(?:/(failover|forceFailoverAllowDataLoss)|/operationResults/([^/]+))?$`)
	sqlMIPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Sql/locations/([^/]+)/instanceFailoverGroups/([^/]+)(?:/(failover|forceFailoverAllowDataLoss)|/operationResults/([^/]+))?$`)
	irPath    = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.DataFactory/factories/([^/]+)/integrationRuntimes/([^/]+)/(?:(getStatus|start|stop)|operationResults/([^/]+))$`)
	trigPath  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.DataFactory/factories/([^/]+)/triggers(?:/([^/]+)(?:/(start|stop))?)?$`)
)

// routeSSIS routes the SSIS slice's requests, as route does the rest. Reads and
// synchronous actions go to the SDK's fakes; long-running operations and their polls
// to the stand-in's own handlers (lro.go).
func (s *Server) routeSSIS(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	get, post := r.Method == http.MethodGet, r.Method == http.MethodPost
	for _, fg := range []struct {
		re     *regexp.Regexp
		kind   FailoverGroupKind
		client string
	}{{sqlDBPath, SQLDatabase, "FailoverGroupsClient"}, {sqlMIPath, ManagedInstance, "InstanceFailoverGroupsClient"}} {
		m := fg.re.FindStringSubmatch(r.URL.Path)
		if m == nil {
			continue
		}
		group, where, name, action, opID := m[1], m[2], m[3], strings.ToLower(m[4]), m[5]
		switch {
		case get && action == "" && opID == "":
			if fg.kind == SQLDatabase {
				return fg.client + ".Get", group, "", sqlfake.NewFailoverGroupsServerTransport(s.failoverGroupsServer(r)), true
			}
			return fg.client + ".Get", group, "", sqlfake.NewInstanceFailoverGroupsServerTransport(s.instanceFailoverGroupsServer(r)), true
		case post && action == "failover":
			return fg.client + ".BeginFailover", group, "", s.failover(fg.kind, group, where, name, false), true
		case post && action == "forcefailoverallowdataloss":
			return fg.client + ".BeginForceFailoverAllowDataLoss", group, "", s.failover(fg.kind, group, where, name, true), true
		case get && opID != "":
			return fg.client + ".OperationResults", group, "", s.pollOperation(opID), true
		}
		return "", "", "", nil, false
	}
	if m := irPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, factory, name, action, opID := m[1], m[2], m[3], strings.ToLower(m[4]), m[5]
		const client = "IntegrationRuntimesClient"
		switch {
		case post && action == "getstatus":
			return client + ".GetStatus", group, "", adffake.NewIntegrationRuntimesServerTransport(s.integrationRuntimesServer()), true
		case post && action == "start":
			return client + ".BeginStart", group, "", s.setIntegrationRuntime(group, factory, name, true), true
		case post && action == "stop":
			return client + ".BeginStop", group, "", s.setIntegrationRuntime(group, factory, name, false), true
		case get && opID != "":
			return client + ".OperationResults", group, "", s.pollOperation(opID), true
		}
		return "", "", "", nil, false
	}
	if m := trigPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, name, action := m[1], m[3], strings.ToLower(m[4])
		switch {
		case get && name == "":
			api = "TriggersClient.NewListByFactoryPager"
		case get && action == "":
			api = "TriggersClient.Get"
		case post && action == "start":
			api = "TriggersClient.BeginStart"
		case post && action == "stop":
			api = "TriggersClient.BeginStop"
		default:
			return "", "", "", nil, false
		}
		return api, group, "", adffake.NewTriggersServerTransport(s.triggersServer(r)), true
	}
	return "", "", "", nil, false
}
