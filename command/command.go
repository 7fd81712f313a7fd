// Package command is the operator's (or an alert's) request to act on a pair, as it
// travels through the Service Bus queue. It decodes strictly: a command starts a
// failover, so anything the sender did not mean exactly is refused with a terminal
// drerr.Invalid naming the field, rather than guessed at or retried.
package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"integration-dr/drerr"
)

// MaxBody is the largest body Decode reads. A command is a few hundred bytes; anything
// near this size is not one.
const MaxBody = 64 << 10

// Limits on free text, in characters: enough for a sentence and an e-mail address,
// small enough to journal on every attempt.
const (
	MaxIDLen   = 128
	MaxTextLen = 512
)

// Action is what a command asks for.
type Action string

// The actions. Confirm approves a proposed command (named by Target); Cancel ends an
// operation (named by Target) that has not ended, for a Reason, with Force when an
// attempt still runs it. SSISFailover and AttachIR act on an SSIS pair.
const (
	Failover     Action = "failover"
	Fallback     Action = "fallback"
	Drill        Action = "drill"
	Confirm      Action = "confirm"
	SSISFailover Action = "ssis-failover"
	AttachIR     Action = "attach-ir"
	Cancel       Action = "cancel"
	// Drift compares both sides' artifacts (read-only); Mirror copies the active
	// side's to the standby (Prune: delete what only the standby has).
	Drift  Action = "drift"
	Mirror Action = "mirror"
)

// Reconcile names the journal's record of an SSIS reconcile pass. It is not a command:
// Decode refuses it.
const Reconcile Action = "reconcile"

var actions = []Action{Failover, Fallback, Drill, Confirm, SSISFailover, AttachIR, Cancel, Drift, Mirror}

// ParseAction reads an action case-insensitively and returns it in lower case.
func ParseAction(s string) (Action, bool) {
	for _, a := range actions {
		if strings.EqualFold(s, string(a)) {
			return a, true
		}
	}
	return "", false
}

// Command is one request. ID is the idempotency key: a redelivered or re-sent command
// with the same ID resumes the journaled plan instead of starting another.
type Command struct {
	ID          string `json:"id"`
	Action      Action `json:"action"`
	Pair        string `json:"pair"`
	Target      string `json:"target,omitempty"` // confirm and cancel only: the ID of the operation it acts on
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requestedBy,omitempty"`
	// Side is for attach-ir: the side ("primary" or "secondary", as configured) whose
	// integration runtime takes SSISDB over; empty for the side that does not serve it.
	Side   string `json:"side,omitempty"`
	Force  bool   `json:"force,omitempty"`
	DryRun bool   `json:"dryRun,omitempty"`
	// Prune is for mirror: delete from the standby what only it holds (never what the
	// pair's allow-list covers).
	Prune bool `json:"prune,omitempty"`
	// ExpectedEpoch, when set, makes the command apply only if the active-region record
	// is still at that epoch. A pointer, because 0 is a real epoch.
	ExpectedEpoch *int64 `json:"expectedEpoch,omitempty"`
}

// Encode returns the command as the JSON object Decode reads.
func (c Command) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil { // cannot happen: strings, bools and an int
		panic(err)
	}
	return b
}

// Validate checks the command's shape (as Decode does, so a command built in code is
// held to the same rules) and, when knownPairs is not nil, that its pair is configured.
// Every error is a drerr.Invalid naming the field.
func (c Command) Validate(knownPairs func(string) bool) error {
	if err := c.check(); err != nil {
		return err
	}
	if knownPairs != nil && !knownPairs(c.Pair) {
		return invalid("pair", "%q is not a configured pair", c.Pair)
	}
	return nil
}

// Decode reads a command from a queue message body. The body is the JSON object, or a
// JSON string holding it (one level; handlers.DecodeMessageBody undoes the host's other
// encodings). When the body has no id, messageID is the idempotency key, so that the
// broker's redelivery of one message is recognised as the same command.
//
// Decode is strict: unknown, duplicate or differently-cased keys, wrong types and
// trailing data are refused. Every error is a drerr.Invalid naming the field.
func Decode(body []byte, messageID string) (Command, error) {
	if len(body) > MaxBody {
		return Command{}, invalid("", "body is %d bytes; the limit is %d", len(body), MaxBody)
	}
	body = bytes.TrimSpace(body)
	if !json.Valid(body) { // this also refuses data after the value
		return Command{}, invalid("", "body is not JSON")
	}
	if body[0] == '"' {
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return Command{}, invalid("", "body is not JSON")
		}
		body = bytes.TrimSpace([]byte(s))
		if !json.Valid(body) {
			return Command{}, invalid("", "body is a string that does not hold JSON")
		}
	}
	if body[0] != '{' {
		return Command{}, invalid("", "body is %s; want a JSON object", kind(body))
	}

	var c Command
	hasID := false
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the '{', checked above
		return Command{}, invalid("", "body is not JSON")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Command{}, invalid("", "body is not JSON")
		}
		key, _ := tok.(string)
		if n := utf8.RuneCountInString(key); n > MaxIDLen {
			// Not quoted: the error, and the journal's record of the rejection, would
			// be as long as the key.
			return Command{}, invalid("", "a key of %d characters is not a command field", n)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Command{}, invalid("", "body is not JSON")
		}
		if seen[key] {
			return Command{}, invalid(key, "appears twice")
		}
		seen[key] = true
		switch key {
		case "id":
			hasID = !isNull(raw)
			err = text(key, raw, &c.ID)
		case "action":
			var s string
			if err = text(key, raw, &s); err == nil {
				c.Action = Action(s)
				if a, ok := ParseAction(s); ok {
					c.Action = a
				}
			}
		case "pair":
			err = text(key, raw, &c.Pair)
		case "target":
			err = text(key, raw, &c.Target)
		case "reason":
			err = text(key, raw, &c.Reason)
		case "requestedBy":
			err = text(key, raw, &c.RequestedBy)
		case "side":
			err = text(key, raw, &c.Side)
		case "force":
			err = boolean(key, raw, &c.Force)
		case "dryRun":
			err = boolean(key, raw, &c.DryRun)
		case "prune":
			err = boolean(key, raw, &c.Prune)
		case "expectedEpoch":
			err = epoch(key, raw, &c.ExpectedEpoch)
		default:
			err = invalid(key, "is not a command field (id, action, pair, target, side, reason, requestedBy, force, dryRun, prune, expectedEpoch)")
		}
		if err != nil {
			return Command{}, err
		}
	}

	switch {
	case hasID && c.ID == "":
		return Command{}, invalid("id", "is empty; omit it to use the message id")
	case !hasID && messageID == "":
		return Command{}, invalid("id", "is required: the body has none and neither has the message")
	case !hasID && utf8.RuneCountInString(messageID) > MaxTextLen:
		return Command{}, invalid("id", "is absent and the message id is %d characters; the limit is %d", utf8.RuneCountInString(messageID), MaxIDLen)
	case !hasID && !ValidID(messageID):
		return Command{}, invalid("id", "is absent and the message id %q is not 1-%d letters, digits, '-', '_', '.', ':'", messageID, MaxIDLen)
	case !hasID:
		c.ID = messageID
	}
	if err := c.check(); err != nil {
		return Command{}, err
	}
	return c, nil
}

// check holds the rules on each field, in the order a reader of the body meets them.
func (c Command) check() error {
	// A value far longer than any this field takes is refused by its length alone:
	// quoted, it would make the error, and the journal's record of the rejection, as
	// long as itself.
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"action", string(c.Action), MaxIDLen}, {"pair", c.Pair, 63}, {"id", c.ID, MaxIDLen}, {"target", c.Target, MaxIDLen}, {"side", c.Side, MaxIDLen}} {
		if n := utf8.RuneCountInString(f.v); n > MaxTextLen {
			return invalid(f.name, "is %d characters; the limit is %d", n, f.limit)
		}
	}
	if c.Action == "" {
		return invalid("action", "is required: one of %s", actionList())
	}
	if a, ok := ParseAction(string(c.Action)); !ok || a != c.Action {
		return invalid("action", "%q is not one of %s", c.Action, actionList())
	}
	if c.Pair == "" {
		return invalid("pair", "is required")
	}
	if !ValidPairName(c.Pair) {
		return invalid("pair", "%q is not a pair name (1-63 letters, digits, '-', '_')", c.Pair)
	}
	if !ValidID(c.ID) {
		return invalid("id", "%q is not 1-%d letters, digits, '-', '_', '.', ':'", c.ID, MaxIDLen)
	}
	targeted := c.Action == Confirm || c.Action == Cancel
	switch {
	case c.Action == Confirm && c.Target == "":
		return invalid("target", "is required for confirm: the id of the proposed command")
	case c.Action == Cancel && c.Target == "":
		return invalid("target", "is required for cancel: the id of the operation to cancel")
	case targeted && !ValidID(c.Target):
		return invalid("target", "%q is not 1-%d letters, digits, '-', '_', '.', ':'", c.Target, MaxIDLen)
	case !targeted && c.Target != "":
		return invalid("target", "is only for confirm and cancel, not %s", c.Action)
	case c.Action == Cancel && c.Target == c.ID:
		return invalid("target", "%q is the cancel command's own id", c.Target)
	}
	switch {
	case c.Side != "" && c.Action != AttachIR:
		return invalid("side", "is only for %s, not %s", AttachIR, c.Action)
	case c.Side != "" && c.Side != "primary" && c.Side != "secondary":
		return invalid("side", "%q is not primary or secondary", c.Side)
	}
	if c.Prune && c.Action != Mirror {
		return invalid("prune", "is only for %s, not %s", Mirror, c.Action)
	}
	if c.Force && (c.Action == Drift || c.Action == Mirror) {
		// Nothing to override: a drift only reads, and a mirror never writes into the
		// side that is active, whatever the operator says.
		return invalid("force", "is not for %s", c.Action)
	}
	if n := utf8.RuneCountInString(c.Reason); n > MaxTextLen {
		return invalid("reason", "is %d characters; the limit is %d", n, MaxTextLen)
	}
	if n := utf8.RuneCountInString(c.RequestedBy); n > MaxTextLen {
		return invalid("requestedBy", "is %d characters; the limit is %d", n, MaxTextLen)
	}
	if c.Action == Cancel {
		switch {
		case strings.TrimSpace(c.Reason) == "":
			return invalid("reason", "is required for cancel: the journal keeps why an operation was ended by hand")
		case c.DryRun:
			return invalid("dryRun", "is not for cancel: a cancel changes only the journal")
		case c.ExpectedEpoch != nil:
			return invalid("expectedEpoch", "is not for cancel: it names the operation, not an epoch")
		}
	}
	if c.ExpectedEpoch != nil && *c.ExpectedEpoch < 0 {
		return invalid("expectedEpoch", "%d is negative", *c.ExpectedEpoch)
	}
	return nil
}

// ValidID reports whether s can be a command id: 1-128 of [A-Za-z0-9-_.:], which covers
// GUIDs, Service Bus message ids and the ids alerts derive, and is safe as a Table
// Storage key.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && !strings.ContainsRune("-_.:", r) {
			return false
		}
	}
	return true
}

// ValidPairName reports whether s has the shape of a pair name in DR_TOPOLOGY:
// 1-63 letters, digits, '-', '_'.
func ValidPairName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && !strings.ContainsRune("-_", r) {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func actionList() string {
	s := make([]string, len(actions))
	for i, a := range actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// invalid builds the terminal error for field ("" for the body as a whole).
func invalid(field, format string, args ...any) error {
	op := "command"
	if field != "" {
		op += "." + field
	}
	return drerr.Errorf(drerr.Invalid, op, format, args...)
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// text reads a JSON string; null leaves dst empty, as if the key were absent.
func text(field string, raw json.RawMessage, dst *string) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
		return invalid(field, "is %s; want a string", kind(raw))
	}
	return nil
}

func boolean(field string, raw json.RawMessage, dst *bool) error {
	if isNull(raw) {
		return nil
	}
	if raw[0] != 't' && raw[0] != 'f' || json.Unmarshal(raw, dst) != nil {
		return invalid(field, "is %s; want true or false", kind(raw))
	}
	return nil
}

// epoch reads a whole number from 0 up. Exponents and fractions are refused even when
// they denote a whole number: the sender meant something else.
func epoch(field string, raw json.RawMessage, dst **int64) error {
	if isNull(raw) {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return invalid(field, "%s is not a whole number from 0 to %d", raw, int64(1<<63-1))
	}
	*dst = &n
	return nil
}

// kind names a JSON value's type for an error message.
func kind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return fmt.Sprintf("the number %s", raw)
	}
}
