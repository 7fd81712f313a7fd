// Package armstandin is a development and test tool, never part of the product: a
// local stand-in for the slice of Azure Resource Manager that integration-dr calls,
// built on the SDK's own fake servers for routing and marshalling, served over HTTP on
// 127.0.0.1 so that the real binaries and SDK clients run against it:
//
//   - B2B (armlogic, 2019-05-01): integration account sessions and agreements, Logic
//     Apps workflows, and the artifacts a mirror copies: partners, schemas, maps,
//     certificates, batch configurations (artifacts.go).
//   - SSIS (armsql, 2020-11-01-preview; armdatafactory, 2018-06-01): the ARM side of
//     an Azure-SSIS dual-standby pair. SQL failover groups of both kinds (Azure SQL
//     Database, Managed Instance) with planned and forced failover, Data Factory
//     integration runtimes with start and stop, and triggers. Failovers and runtime
//     starts and stops are long-running operations that the stand-in serves itself,
//     as ARM's Location pattern, so that a client resumed from a token after a
//     restart can poll them (lro.go). MemberRole lets a stand-in for SSISDB follow
//     the failover group.
//
// It throttles like ARM (on by default), and can skew a region's clock, cut a region
// off, and inject latency and faults.
package armstandin

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/session"
)

// stored is one session as the service keeps it.
type stored struct {
	name    string
	content json.RawMessage
	created time.Time
	changed time.Time
}

// account is one integration account's state.
type account struct {
	sessions map[string]*stored
	// names indexes sessions' keys in sorted order, so that a list page is a binary
	// search and a slice rather than a sort of the whole account. New keys wait in
	// pending until the next page merges them in: inserting each one into names would
	// move half the index per insert, which seeding 50,000 sessions cannot afford.
	names, pending []string
	agreements     map[string]armlogic.IntegrationAccountAgreement
	// last is the latest changedTime this account's service handed out.
	last time.Time
}

// workflow is one Logic Apps workflow: only what the stand-in serves.
type workflow struct {
	name  string
	state armlogic.WorkflowState
}

// store holds every account the stand-in has seen, keyed by "group/account" in lower
// case (ARM names are case-insensitive), and workflows keyed by "group/workflow".
type store struct {
	mu        sync.Mutex
	accounts  map[string]*account
	workflows map[string]*workflow
	// now is the machine's clock; tests may freeze it before serving.
	now func() time.Time
	// offsets skew a service's clock from the machine's, keyed like accounts; the key
	// "group/" (no account) covers everything in the resource group.
	offsets map[string]time.Duration
	// regressions lists every write that moved a session's content time back.
	regressions []string
}

func newStore() *store {
	return &store{accounts: map[string]*account{}, workflows: map[string]*workflow{}, offsets: map[string]time.Duration{}, now: time.Now}
}

func key(group, name string) string { return strings.ToLower(group + "/" + name) }

func (s *store) account(group, name string) *account {
	k := key(group, name)
	a, ok := s.accounts[k]
	if !ok {
		a = &account{sessions: map[string]*stored{}, agreements: map[string]armlogic.IntegrationAccountAgreement{}}
		s.accounts[k] = a
	}
	return a
}

// serviceNow is the clock of the service holding group/acct: the machine's, moved by
// the account's offset, or else its resource group's. Callers hold s.mu.
func (s *store) serviceNow(group, acct string) time.Time {
	d, ok := s.offsets[key(group, acct)]
	if !ok {
		d = s.offsets[key(group, "")]
	}
	return s.now().Add(d).UTC()
}

// tick returns the account's service clock, strictly increasing so that every write
// has its own changedTime, as a single service instance would give. Each account keeps
// its own: accounts in different regions are different services with different clocks,
// and one account's skew must not drag another's times along.
func (s *store) tick(group, acct string) time.Time {
	a := s.account(group, acct)
	t := s.serviceNow(group, acct)
	if !t.After(a.last) {
		t = a.last.Add(time.Microsecond)
	}
	a.last = t
	return t
}

func (s *store) put(group, acct, name string, content json.RawMessage, at time.Time) stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(group, acct)
	now := at
	if now.IsZero() {
		now = s.tick(group, acct)
	}
	k := strings.ToLower(name)
	cur, ok := a.sessions[k]
	if !ok {
		cur = &stored{name: name, created: now}
		a.sessions[k] = cur
		a.pending = append(a.pending, k)
	} else if old, nw := session.ParseContent(cur.content).Stamp(), session.ParseContent(content).Stamp(); nw.Before(old) {
		// The test oracle for "never move a control number back in time".
		s.regressions = append(s.regressions, fmt.Sprintf("%s/%s: %s overwritten by older %s", acct, name, cur.content, content))
	}
	cur.content, cur.changed = content, now
	return *cur
}

func (s *store) get(group, acct, name string) (stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.account(group, acct).sessions[strings.ToLower(name)]
	if !ok {
		return stored{}, false
	}
	return *cur, true
}

// sorted returns the account's session keys in order, first merging the keys added
// since the last call: a sort of the few new ones and one linear merge.
func (a *account) sorted() []string {
	if len(a.pending) == 0 {
		return a.names
	}
	sort.Strings(a.pending)
	merged := make([]string, 0, len(a.names)+len(a.pending))
	i, j := 0, 0
	for i < len(a.names) && j < len(a.pending) {
		if a.names[i] < a.pending[j] {
			merged = append(merged, a.names[i])
			i++
		} else {
			merged = append(merged, a.pending[j])
			j++
		}
	}
	merged = append(append(merged, a.names[i:]...), a.pending[j:]...)
	a.names, a.pending = merged, nil
	return a.names
}

// page returns up to top sessions whose name sorts after `after`, changed at or after
// since, in name order, and whether more follow.
func (s *store) page(group, acct string, since time.Time, after string, top int) ([]string, []stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(group, acct)
	all := a.sorted()
	i, found := slices.BinarySearch(all, after)
	if found {
		i++
	}
	n := min(top, len(all)-i)
	names, out := make([]string, 0, n), make([]stored, 0, n)
	for ; i < len(all); i++ {
		v := a.sessions[all[i]]
		if v.changed.Before(since) {
			continue
		}
		if len(names) == top {
			return names, out, true
		}
		names = append(names, all[i])
		out = append(out, *v)
	}
	return names, out, false
}

// snapshot returns every session of an account, for assertions.
func (s *store) snapshot(group, acct string) map[string]Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Session{}
	for _, v := range s.account(group, acct).sessions {
		out[v.name] = Session{Content: v.content, Changed: v.changed}
	}
	return out
}

// Session is a session as the stand-in holds it.
type Session struct {
	Content json.RawMessage
	Changed time.Time
}
