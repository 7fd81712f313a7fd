// Package session models integration account sessions: the runtime state (control
// numbers, AS2 MIC records) that Logic Apps B2B keeps per integration account and that
// disaster recovery copies from the active account to the standby one.
//
// It knows nothing of Azure SDKs: adapters turn ARM resources into Session values.
package session

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Kind says what a session holds. It decides write order and how two copies compare.
type Kind int

const (
	// Other is any session we cannot classify; it is replicated verbatim.
	Other Kind = iota
	// Generated is a control number this account sends (X12/EDIFACT ICN, GCN, TSCN).
	// A duplicate of one reaches a partner, so these are written first.
	Generated
	// Received is a control number received from a partner (duplicate detection).
	Received
	// AS2MIC is an AS2 message integrity check record.
	AS2MIC
)

// Kinds lists every kind in the order the engine writes them.
var Kinds = [...]Kind{Generated, Received, AS2MIC, Other}

func (k Kind) String() string {
	switch k {
	case Generated:
		return "generated"
	case Received:
		return "received"
	case AS2MIC:
		return "as2mic"
	default:
		return "other"
	}
}

// ParseKind is the inverse of Kind.String, used by configuration.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if strings.EqualFold(strings.TrimSpace(s), k.String()) {
			return k, true
		}
	}
	return Other, false
}

// Session is one integration account session as both sides see it.
type Session struct {
	Name string
	// ChangedTime is the service's own properties.changedTime on the side it was read
	// from. It orders changes on one side only: the standby sets its own on write.
	ChangedTime time.Time
	// Content is properties.content as raw JSON.
	Content json.RawMessage
}

// Content is the part of a session's content that the replication rules look at.
// Field names are matched case-insensitively: PowerShell writes PascalCase, the REST
// examples camelCase.
type Content struct {
	ControlNumber            string
	ControlNumberChangedTime time.Time
	MessageType              string
	MicValue                 string
	MicChangedTime           time.Time
	AgreementName            string
	// StampPresent says the content carries a ControlNumberChangedTime or
	// MicChangedTime field, readable or not: such content has a time to protect.
	StampPresent bool
}

// Stamp is the content's own time of last change: the control number's or the MIC's.
// It is what "newest wins" compares across the two sides.
func (c Content) Stamp() time.Time {
	if !c.ControlNumberChangedTime.IsZero() {
		return c.ControlNumberChangedTime
	}
	return c.MicChangedTime
}

// wireContent receives the fields ParseContent reads. encoding/json matches keys to
// field names case-insensitively, which is what the two spellings need; RawMessage
// leaves each value's type (string or number) to scalar.
type wireContent struct {
	ControlNumber            json.RawMessage
	ControlNumberChangedTime json.RawMessage
	MessageType              json.RawMessage
	MicValue                 json.RawMessage
	MicChangedTime           json.RawMessage
	AgreementName            json.RawMessage
}

// ParseContent reads the fields the rules need. Content that is not a JSON object, or
// whose fields have unexpected types, yields the zero fields it could not read: such a
// session is still replicated, verbatim.
func ParseContent(raw []byte) Content {
	var w wireContent
	if err := json.Unmarshal(raw, &w); err != nil {
		return Content{}
	}
	return Content{
		ControlNumber:            scalar(w.ControlNumber),
		ControlNumberChangedTime: parseTime(scalar(w.ControlNumberChangedTime)),
		MessageType:              scalar(w.MessageType),
		MicValue:                 scalar(w.MicValue),
		MicChangedTime:           parseTime(scalar(w.MicChangedTime)),
		AgreementName:            scalar(w.AgreementName),
		StampPresent:             present(w.ControlNumberChangedTime) || present(w.MicChangedTime),
	}
}

func present(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && !bytes.Equal(v, []byte("null"))
}

// Digest is a 64-bit FNV-1a hash of the content's bytes: what the overlap memory and
// the reconciliation pass compare, so that a session is skipped only when the standby
// is known to hold exactly this content, whatever its changedTime says.
func Digest(content []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(content)
	return h.Sum64()
}

// scalar renders a JSON string or number as text; anything else as "".
func scalar(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
		return string(v)
	}
	return ""
}

// timeLayouts are the shapes seen in session content: RFC 3339 with up to seven
// fractional digits (.NET ticks), and the same without a zone, which .NET means as UTC.
var timeLayouts = [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"}

func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return parseMSDate(s)
}

// parseMSDate reads the "/Date(ms)/" form, optionally with a "+hhmm" offset, that
// Windows PowerShell 5.1's ConvertTo-Json and the older .NET serializers write: the
// milliseconds count from the Unix epoch in UTC, whatever the offset says.
func parseMSDate(s string) time.Time {
	inner, ok := strings.CutPrefix(s, "/Date(")
	if !ok {
		return time.Time{}
	}
	inner, ok = strings.CutSuffix(inner, ")/")
	if !ok {
		return time.Time{}
	}
	if i := strings.LastIndexAny(inner, "+-"); i > 0 {
		inner = inner[:i]
	}
	ms, err := strconv.ParseInt(inner, 10, 64)
	if err != nil || ms < -62135596800000 || ms > 253402300799999 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Classify tells a session's kind from its name and, where the name says nothing, its
// content. AS2 MIC session names are not documented, so those are known by content.
func Classify(name string, c Content) Kind {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "x12-icn-"), strings.HasPrefix(lower, "edifact-icn-"):
		return Received
	case hasGeneratedSuffix(lower):
		return Generated
	case c.MicValue != "":
		return AS2MIC
	}
	return Other
}

var generatedSuffixes = [...]string{"-icn", "-gcn", "-tscn", "-icn-ack", "-gcn-ack", "-tscn-ack", "-ack"}

func hasGeneratedSuffix(lower string) bool {
	for _, s := range generatedSuffixes {
		if strings.HasSuffix(lower, s) && len(lower) > len(s) {
			return true
		}
	}
	return false
}
