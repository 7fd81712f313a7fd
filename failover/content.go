package failover

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"integration-dr/session"
)

const (
	keyNumber = "ControlNumber"
	keyStamp  = "ControlNumberChangedTime"
)

// target is what a bump needs of the target's current content.
type target struct {
	absent       bool // no session (or JSON null): the bump creates the content
	members      []session.Member
	hasNumber    bool
	number       string // as stored: "000000123", or the text of a JSON number
	numberIsJSON bool   // stored as a JSON number rather than a string
	stamp        time.Time
}

// readTarget reads the target's content. Keys are matched case-insensitively, as
// session.ParseContent does; a content that is not a JSON object, a number that is
// neither a string nor a number, an unreadable ControlNumberChangedTime (it could hide
// a later time than the bump's), or two spellings of one field with different values
// are errors.
func readTarget(raw json.RawMessage) (target, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return target{absent: true}, nil
	}
	members, err := session.DecodeObject(trimmed)
	if err != nil {
		return target{}, err
	}
	t := target{members: members}
	num, err := field(members, keyNumber)
	if err != nil {
		return target{}, err
	}
	switch {
	case num == nil:
	case num[0] == '"':
		var s string
		if err := json.Unmarshal(num, &s); err != nil {
			return target{}, fmt.Errorf("%s: %w", keyNumber, err)
		}
		t.number, t.hasNumber = s, s != ""
	case num[0] == '-' || (num[0] >= '0' && num[0] <= '9'):
		t.number, t.hasNumber, t.numberIsJSON = string(num), true, true
	default:
		return target{}, fmt.Errorf("%s %s is neither a string nor a number", keyNumber, num)
	}
	st, err := field(members, keyStamp)
	if err != nil {
		return target{}, err
	}
	if st != nil {
		doc := append(append([]byte(`{"`+keyStamp+`":`), st...), '}')
		t.stamp = session.ParseContent(doc).ControlNumberChangedTime
		if t.stamp.IsZero() {
			return target{}, fmt.Errorf("%s %s is not a time", keyStamp, st)
		}
	}
	return t, nil
}

// field returns the value of a key matched case-insensitively, nil when absent or null.
func field(members []session.Member, key string) (json.RawMessage, error) {
	var found json.RawMessage
	for _, m := range members {
		if !strings.EqualFold(m.Key, key) {
			continue
		}
		v := bytes.TrimSpace(m.Val)
		if bytes.Equal(v, []byte("null")) {
			v = nil
		}
		if found != nil && !bytes.Equal(found, v) {
			return nil, fmt.Errorf("content has several %s fields with different values", key)
		}
		found = v
	}
	return found, nil
}

// rewrite returns the content with ControlNumber and ControlNumberChangedTime replaced
// (every spelling of them) and every other field, key order and key casing as it was.
// A field the content lacks is added in the content's own casing (camelCase when its
// keys are camelCase, else PascalCase). A missing session gets the content PowerShell
// and the connector write.
func (t target) rewrite(number string, stamp time.Time, proto Protocol) (json.RawMessage, error) {
	numVal := json.RawMessage(number)
	if !t.numberIsJSON {
		numVal = session.Quote(number)
	}
	stampVal := session.Quote(session.FormatStamp(stamp))
	var ms []session.Member
	if t.absent {
		messageType := "0" // X12; the content's MessageType enum: X12=0, Edifact=1, AS2=2
		if proto == EDIFACT {
			messageType = "1"
		}
		ms = []session.Member{{Key: keyNumber, Val: numVal}, {Key: keyStamp, Val: stampVal},
			{Key: "IsMessageProcessingFailed", Val: json.RawMessage("false")}, {Key: "MessageType", Val: json.RawMessage(messageType)}}
	} else {
		ms = make([]session.Member, len(t.members))
		copy(ms, t.members)
		var haveNum, haveStamp bool
		for i := range ms {
			switch {
			case strings.EqualFold(ms[i].Key, keyNumber):
				ms[i].Val, haveNum = numVal, true
			case strings.EqualFold(ms[i].Key, keyStamp):
				ms[i].Val, haveStamp = stampVal, true
			}
		}
		camel := t.camelCase()
		if !haveNum {
			ms = append(ms, session.Member{Key: session.KeyCasing(keyNumber, camel), Val: numVal})
		}
		if !haveStamp {
			ms = append(ms, session.Member{Key: session.KeyCasing(keyStamp, camel), Val: stampVal})
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(session.Quote(m.Key))
		buf.WriteByte(':')
		buf.Write(m.Val)
	}
	buf.WriteByte('}')
	if !json.Valid(buf.Bytes()) {
		return nil, errors.New("rewritten content is not valid JSON")
	}
	return buf.Bytes(), nil
}

// camelCase says the content spells its keys camelCase: judged by its ControlNumber or
// ControlNumberChangedTime key when it has one, else by its first key.
func (t target) camelCase() bool {
	for _, m := range t.members {
		if strings.EqualFold(m.Key, keyNumber) || strings.EqualFold(m.Key, keyStamp) {
			return startsLower(m.Key)
		}
	}
	return len(t.members) > 0 && startsLower(t.members[0].Key)
}

func startsLower(s string) bool { return s != "" && s[0] >= 'a' && s[0] <= 'z' }

// Restamp returns content with its ControlNumberChangedTime set to stamp, everything
// else as it was.
func Restamp(content json.RawMessage, stamp time.Time) (json.RawMessage, error) {
	t, err := readTarget(content)
	if err != nil || t.absent || !t.hasNumber {
		return nil, fmt.Errorf("restamp: content has no control number to keep: %v", err)
	}
	return t.rewrite(t.number, stamp, ProtocolUnknown)
}
