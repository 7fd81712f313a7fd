package failover

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"integration-dr/session"
)

const (
	keyNumber = "ControlNumber"
	keyStamp  = "ControlNumberChangedTime"
)

// member is one key of a JSON object, kept in the order and spelling of the source.
type member struct {
	key string
	val json.RawMessage
}

// target is what a bump needs of the target's current content.
type target struct {
	absent       bool // no session (or JSON null): the bump creates the content
	members      []member
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
	members, err := decodeObject(trimmed)
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
func field(members []member, key string) (json.RawMessage, error) {
	var found json.RawMessage
	for _, m := range members {
		if !strings.EqualFold(m.key, key) {
			continue
		}
		v := bytes.TrimSpace(m.val)
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

func decodeObject(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not a JSON object: %w", err)
		}
		ms = append(ms, member{key, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

// rewrite returns the content with ControlNumber and ControlNumberChangedTime replaced
// (every spelling of them) and every other field, key order and key casing as it was.
// A field the content lacks is added in the content's own casing (camelCase when its
// keys are camelCase, else PascalCase). A missing session gets the content PowerShell
// and the connector write.
func (t target) rewrite(number string, stamp time.Time, proto Protocol) (json.RawMessage, error) {
	numVal := json.RawMessage(number)
	if !t.numberIsJSON {
		numVal = quote(number)
	}
	stampVal := quote(FormatStamp(stamp))
	var ms []member
	if t.absent {
		messageType := "0" // X12; the content's MessageType enum: X12=0, Edifact=1, AS2=2
		if proto == EDIFACT {
			messageType = "1"
		}
		ms = []member{{keyNumber, numVal}, {keyStamp, stampVal},
			{"IsMessageProcessingFailed", json.RawMessage("false")}, {"MessageType", json.RawMessage(messageType)}}
	} else {
		ms = make([]member, len(t.members))
		copy(ms, t.members)
		var haveNum, haveStamp bool
		for i := range ms {
			switch {
			case strings.EqualFold(ms[i].key, keyNumber):
				ms[i].val, haveNum = numVal, true
			case strings.EqualFold(ms[i].key, keyStamp):
				ms[i].val, haveStamp = stampVal, true
			}
		}
		camel := t.camelCase()
		if !haveNum {
			ms = append(ms, member{casing(keyNumber, camel), numVal})
		}
		if !haveStamp {
			ms = append(ms, member{casing(keyStamp, camel), stampVal})
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(quote(m.key))
		buf.WriteByte(':')
		buf.Write(m.val)
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
		if strings.EqualFold(m.key, keyNumber) || strings.EqualFold(m.key, keyStamp) {
			return startsLower(m.key)
		}
	}
	return len(t.members) > 0 && startsLower(t.members[0].key)
}

func startsLower(s string) bool { return s != "" && s[0] >= 'a' && s[0] <= 'z' }

func casing(pascal string, camel bool) string {
	if camel {
		return strings.ToLower(pascal[:1]) + pascal[1:]
	}
	return pascal
}

// quote encodes a string as JSON without HTML escaping.
func quote(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// Restamp returns content with its ControlNumberChangedTime set to stamp, everything
// else as it was.
func Restamp(content json.RawMessage, stamp time.Time) (json.RawMessage, error) {
	t, err := readTarget(content)
	if err != nil || t.absent || !t.hasNumber {
		return nil, fmt.Errorf("restamp: content has no control number to keep: %v", err)
	}
	return t.rewrite(t.number, stamp, ProtocolUnknown)
}
