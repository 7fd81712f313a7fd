// Package armstandin is a development and test tool, never part of the product: a
// local stand-in for the slice of Azure Resource Manager that integration-dr calls
// (integration account sessions and agreements), built on the armlogic SDK's own fake
// servers for routing and marshalling, served over HTTP on 127.0.0.1 so that the real
// binaries and SDK clients run against it. It can inject latency and faults.
package armstandin

import (
	"encoding/json"
	"fmt"
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
	sessions   map[string]*stored
	agreements map[string]armlogic.IntegrationAccountAgreement
}

// store holds every account the stand-in has seen, keyed by "group/account" in lower
// case (ARM names are case-insensitive).
type store struct {
	mu       sync.Mutex
	accounts map[string]*account
	now      func() time.Time
	last     time.Time
	// regressions lists every write that moved a session's content time back.
	regressions []string
}

func newStore() *store {
	return &store{accounts: map[string]*account{}, now: time.Now}
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

// tick returns the service clock, strictly increasing so that every write has its own
// changedTime, as a single service instance would give.
func (s *store) tick() time.Time {
	t := s.now().UTC()
	if !t.After(s.last) {
		t = s.last.Add(time.Microsecond)
	}
	s.last = t
	return t
}

func (s *store) put(group, acct, name string, content json.RawMessage, at time.Time) stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(group, acct)
	now := at
	if now.IsZero() {
		now = s.tick()
	}
	cur, ok := a.sessions[strings.ToLower(name)]
	if !ok {
		cur = &stored{name: name, created: now}
		a.sessions[strings.ToLower(name)] = cur
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

// page returns up to top sessions whose name sorts after `after`, changed at or after
// since, in name order, and whether more follow.
func (s *store) page(group, acct string, since time.Time, after string, top int) ([]string, []stored, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(group, acct)
	var names []string
	for n, v := range a.sessions {
		if n > after && !v.changed.Before(since) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	more := len(names) > top
	if more {
		names = names[:top]
	}
	out := make([]stored, len(names))
	for i, n := range names {
		out[i] = *a.sessions[n]
	}
	return names, out, more
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
