package session

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Verdict is what replication does with one active-side session given the standby's copy.
type Verdict int

const (
	// Write: the standby lacks the session or holds an older state of it.
	Write Verdict = iota
	// Same: the standby already holds this content; writing would change nothing.
	Same
	// StandbyNewer: the standby's copy carries a newer content time. Writing would move
	// a control number back in time, which the B2B connectors refuse too
	// ("greater timestamp exists"), so it is left alone.
	StandbyNewer
)

func (v Verdict) String() string {
	switch v {
	case Write:
		return "write"
	case Same:
		return "same"
	default:
		return "standby-newer"
	}
}

// Decide applies the merge rule: the newest content time wins; on equal times the
// active side wins unless the content is already the same. A generated control number
// that is lower but newer is an envelope rollover and wins like any newer one.
// standby is nil when the standby has no such session.
//
// When the two content times cannot be compared (one is missing or unreadable) and the
// standby's content carries a time of its own, the service's changedTime decides: the
// active side is written unless the standby changed after it did. Writing blindly
// there could move a number back in time; content with no time to protect is
// replicated verbatim.
func Decide(active Session, standby *Session) Verdict {
	if standby == nil {
		return Write
	}
	if bytes.Equal(active.Content, standby.Content) {
		return Same
	}
	ac, sc := ParseContent(active.Content), ParseContent(standby.Content)
	a, s := ac.Stamp(), sc.Stamp()
	if !a.IsZero() && !s.IsZero() && !a.Equal(s) {
		if a.Before(s) {
			return StandbyNewer
		}
		return Write
	}
	if EqualContent(active.Content, standby.Content) {
		return Same
	}
	if (a.IsZero() || s.IsZero()) && sc.StampPresent && standby.ChangedTime.After(active.ChangedTime) {
		return StandbyNewer
	}
	return Write
}

// EqualContent compares two JSON documents by meaning, not by bytes: the two sides may
// order keys or space differently.
func EqualContent(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
