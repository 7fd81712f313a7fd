package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tick is a .NET tick, the resolution of ControlNumberChangedTime.
const Tick = 100 * time.Nanosecond

// FormatStamp writes a time as .NET's round-trip format does: UTC, seven fractional
// digits.
func FormatStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// NextStamp is the ControlNumberChangedTime of a write that must look newer than every
// stamp given: max(now, each stamp + 1 tick), on whole ticks. Zero stamps are ignored.
func NextStamp(now time.Time, stamps ...time.Time) time.Time {
	s := now.UTC().Truncate(Tick)
	for _, old := range stamps {
		if old.IsZero() {
			continue
		}
		c := old.UTC().Add(Tick)
		if r := c.Truncate(Tick); r.Before(c) {
			c = r.Add(Tick)
		}
		if c.After(s) {
			s = c
		}
	}
	return s
}

// MergeBack decides what the active side takes from the old active side's copy of a
// session after a failover, once the old side is fenced: what the old side recorded
// alone (sent or received just before the outage) must not be lost.
//
//   - A session the active side lacks is copied as it is, whatever its kind.
//   - Received numbers, AS2 MIC records and unknown sessions are a union: an active
//     copy is never overwritten.
//   - A generated number is raised to the old side's where the old side's is
//     numerically higher: when both sides have sent, the higher number wins, not the
//     newer stamp. The active content keeps its fields, spelling and zero padding;
//     its ControlNumberChangedTime becomes later than both sides' stamps and now.
//     Nothing on the active side is ever lowered.
//
// It returns the session to write into the active side and true, or false when the
// active side keeps what it holds. An error means the two generated numbers cannot
// be compared (unreadable content): the active side is left alone and the caller
// should say so.
func MergeBack(old Session, active *Session, now time.Time) (Session, bool, error) {
	return MergeBackAfterRollover(old, active, now, 0)
}

// MergeBackAfterRollover is MergeBack for a generated session that the move into the
// current epoch rolled over on the active side (a journaled rollover): finding no room
// above rolledFrom, the highest number it knew, it set the active side to a number at
// the low end of the range, and the active side has sent from there. An old-side
// number at or above rolledFrom belongs to the cycle the active side left — it was
// covered by the move's margin — so the active side's lower number is ahead of it and
// is not raised: raising it would undo the rollover and bring the numbers the active
// side already sent in its new cycle round again. An old-side number below rolledFrom
// can only have come after a rollover of its own, and is compared as MergeBack does.
// rolledFrom 0 means no rollover.
func MergeBackAfterRollover(old Session, active *Session, now time.Time, rolledFrom uint64) (Session, bool, error) {
	if active == nil {
		return Session{Name: old.Name, Content: old.Content}, true, nil
	}
	oc := ParseContent(old.Content)
	if Classify(old.Name, oc) != Generated {
		return Session{}, false, nil
	}
	ac := ParseContent(active.Content)
	on, err := strconv.ParseUint(oc.ControlNumber, 10, 64)
	if err != nil {
		return Session{}, false, fmt.Errorf("merge back %s: the old side's control number %q is not a number", old.Name, oc.ControlNumber)
	}
	an, err := strconv.ParseUint(ac.ControlNumber, 10, 64)
	if err != nil {
		return Session{}, false, fmt.Errorf("merge back %s: the active side's control number %q is not a number", old.Name, ac.ControlNumber)
	}
	if on <= an || (rolledFrom > 0 && on >= rolledFrom) {
		return Session{}, false, nil
	}
	content, err := RaiseControlNumber(active.Content, on, NextStamp(now, ac.ControlNumberChangedTime, oc.ControlNumberChangedTime))
	if err != nil {
		return Session{}, false, fmt.Errorf("merge back %s: %w", old.Name, err)
	}
	return Session{Name: active.Name, Content: content}, true, nil
}

const (
	keyNumber = "ControlNumber"
	keyStamp  = "ControlNumberChangedTime"
)

// RaiseControlNumber returns content with its ControlNumber set to number and its
// ControlNumberChangedTime to stamp (every spelling of each key, matched
// case-insensitively), every other field, key order and key casing as it was. The
// number keeps the content's form: a JSON number stays one, a zero-padded string
// keeps its width.
func RaiseControlNumber(content json.RawMessage, number uint64, stamp time.Time) (json.RawMessage, error) {
	members, err := DecodeObject(bytes.TrimSpace(content))
	if err != nil {
		return nil, err
	}
	digits := strconv.FormatUint(number, 10)
	numVal := Quote(digits)
	stampVal := Quote(FormatStamp(stamp))
	var haveNum, haveStamp bool
	for i := range members {
		switch {
		case strings.EqualFold(members[i].Key, keyNumber):
			v := bytes.TrimSpace(members[i].Val)
			switch {
			case len(v) > 0 && v[0] == '"':
				var cur string
				_ = json.Unmarshal(v, &cur)
				text := digits
				if len(cur) > len(text) && strings.HasPrefix(cur, "0") {
					text = strings.Repeat("0", len(cur)-len(text)) + text
				}
				members[i].Val = Quote(text)
			case len(v) > 0 && v[0] >= '0' && v[0] <= '9':
				members[i].Val = json.RawMessage(digits)
			default:
				members[i].Val = numVal
			}
			haveNum = true
		case strings.EqualFold(members[i].Key, keyStamp):
			members[i].Val, haveStamp = stampVal, true
		}
	}
	camel := len(members) > 0 && members[0].Key != "" && members[0].Key[0] >= 'a' && members[0].Key[0] <= 'z'
	if !haveNum {
		members = append(members, Member{KeyCasing(keyNumber, camel), numVal})
	}
	if !haveStamp {
		members = append(members, Member{KeyCasing(keyStamp, camel), stampVal})
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(Quote(m.Key))
		buf.WriteByte(':')
		buf.Write(m.Val)
	}
	buf.WriteByte('}')
	if !json.Valid(buf.Bytes()) {
		return nil, errors.New("rewritten content is not valid JSON")
	}
	return buf.Bytes(), nil
}
