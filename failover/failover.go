// Package failover computes what a failover (or a fallback) must write before the new
// active integration account sends anything: the control-number bumps that keep every
// partner from receiving a duplicate interchange, group, transaction-set or
// acknowledgement number.
//
// It is pure domain: inputs are what replication observed (the old side's last numbers,
// rates and lag) and what the target holds; the output is a Plan that a journaled step
// applies later. Compute is a pure function of its arguments, so a plan's floors are
// computed once, journaled, and reproducible.
//
// # Rules
//
// For each generated session (see ParseGenerated):
//
//	margin = max(MinBump, BlockSize + ceil(Rate × (Lag + Safety) in seconds))
//	floor  = max(last + margin, Lower)
//
// The target is written only when its current number does not already cover the floor;
// the new number keeps the stored width and zero padding. A floor past the upper bound
// wraps to Lower + (floor − Upper − 1) where rollover is allowed and is refused where it
// is not (see Plan.Refused). ControlNumberChangedTime becomes max(now, old + 1 tick) as
// Set-AzIntegrationAccountGeneratedIcn does.
//
// # Rollover assumption
//
// A wrap restarts the target at the low end of the range. That is only safe if the low
// numbers were last used by the old side a full cycle ago, i.e. longer ago than the
// partners' duplicate check remembers (InterchangeControlNumberValidityDays): the
// connector itself makes the same assumption each time it rolls over. Compute refuses a
// wrap that would lap the range — where the wrapped number would reach the old side's
// last number again, the margin is larger than the whole range and no number is safe.
package failover

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"integration-dr/drerr"
	"integration-dr/session"
)

// Level is the kind of generated number a session holds. Its order is the order of a
// plan's bumps within one agreement.
type Level int

const (
	ICN     Level = iota // interchange control number (ISA13, UNB5): {agreement}-Icn
	GCN                  // group control number (GS06, UNG5): {agreement}-Gcn
	TSCN                 // transaction set control number (ST02, UNH1): {agreement}-Tscn
	ICNAck               // interchange number of acknowledgements: {agreement}-Icn-Ack
	GCNAck               // group number of acknowledgements: {agreement}-Gcn-Ack
	TSCNAck              // transaction set number of acknowledgements: {agreement}-Tscn-Ack
	Ack                  // acknowledgement control number: {agreement}-Ack
)

// Levels lists every level in plan order.
var Levels = [...]Level{ICN, GCN, TSCN, ICNAck, GCNAck, TSCNAck, Ack}

// suffixes are the session-name suffixes of each level, without the leading dash, as
// the cmdlets spell them. Names are matched case-insensitively (session.Classify).
var suffixes = [...]string{"Icn", "Gcn", "Tscn", "Icn-Ack", "Gcn-Ack", "Tscn-Ack", "Ack"}

// String returns the level's session-name suffix: "Icn", "Tscn-Ack", ...
func (l Level) String() string {
	if l < 0 || int(l) >= len(suffixes) {
		return "Level(" + strconv.Itoa(int(l)) + ")"
	}
	return suffixes[l]
}

// IsAck says the level numbers acknowledgements. An agreement carries one
// acknowledgement range; Agreement.BoundsFor uses it for every acknowledgement level
// that has no range of its own.
func (l Level) IsAck() bool { return l >= ICNAck && l <= Ack }

// SessionName is the generated session's name for an agreement and a level.
func SessionName(agreement string, l Level) string { return agreement + "-" + l.String() }

// ParseGenerated splits a generated control-number session's name into its agreement and
// level, case-insensitively. ok is true exactly when session.Classify calls the name
// Generated. Where suffixes nest ("X-Icn-Ack"), the longest one wins: the agreement is
// "X" and the level ICNAck.
func ParseGenerated(name string) (agreement string, level Level, ok bool) {
	if session.Classify(name, session.Content{}) != session.Generated {
		return "", 0, false
	}
	best := -1
	for i, s := range suffixes {
		if a, hit := cutSuffixFold(name, "-"+s); hit && a != "" && (best < 0 || len(s) > len(suffixes[best])) {
			agreement, best = a, i
		}
	}
	if best < 0 { // unreachable: strings.ToLower maps rune to rune, as cutSuffixFold
		return "", 0, false
	}
	return agreement, Level(best), true
}

// cutSuffixFold removes an ASCII suffix matched through strings.ToLower, the folding
// session.Classify applies. ToLower maps rune to rune, so the suffix is the name's last
// len(suffix) runes — which may be wider than ASCII ("İ" and the Kelvin sign lower to
// ASCII letters).
func cutSuffixFold(name, suffix string) (string, bool) {
	i := len(name)
	for n := len(suffix); n > 0; n-- {
		if i == 0 {
			return "", false
		}
		_, size := utf8.DecodeLastRuneInString(name[:i])
		i -= size
	}
	// ToLower, not EqualFold: Classify lower-cases names, and the two differ on
	// letters such as 'İ' that lower-case to a letter they do not fold to.
	if strings.ToLower(name[i:]) != strings.ToLower(suffix) { //nolint:staticcheck // SA6005: see above

		return "", false
	}
	return name[:i], true
}

// Protocol is an agreement's B2B protocol.
type Protocol int

const (
	ProtocolUnknown Protocol = iota
	X12
	EDIFACT
	AS2
)

func (p Protocol) String() string {
	switch p {
	case X12:
		return "X12"
	case EDIFACT:
		return "EDIFACT"
	case AS2:
		return "AS2"
	default:
		return "unknown"
	}
}

// ParseProtocol reads "X12", "Edifact", "AS2" in any case.
func ParseProtocol(s string) (Protocol, bool) {
	for _, p := range [...]Protocol{X12, EDIFACT, AS2} {
		if strings.EqualFold(strings.TrimSpace(s), p.String()) {
			return p, true
		}
	}
	return ProtocolUnknown, false
}

// Limits of the control-number counters. X12 numbers are 9 digits (ISA13 is zero
// padded to 9; Logic Apps allows 1–999999999). An EDIFACT UNB5 is prefix + counter +
// suffix in at most 14 characters, so its counter has at most 14 digits.
const (
	X12Max     int64 = 999_999_999
	EDIFACTMax int64 = 99_999_999_999_999
)

// Bounds is one level's envelope range as the agreement's send settings state it.
type Bounds struct {
	Lower, Upper int64
	Rollover     bool
}

// Agreement is an agreement's name, protocol and, on the side that will send, its
// ranges per level. An acknowledgement level without a range of its own uses Ack's.
type Agreement struct {
	Name     string
	Protocol Protocol
	Bounds   map[Level]Bounds
}

// BoundsFor returns the range of a level, falling back to Ack's for acknowledgement
// levels.
func (a Agreement) BoundsFor(l Level) (Bounds, bool) {
	if b, ok := a.Bounds[l]; ok {
		return b, true
	}
	if l.IsAck() {
		b, ok := a.Bounds[Ack]
		return b, ok
	}
	return Bounds{}, false
}

func (b Bounds) check(p Protocol) error {
	var lo, hi int64
	switch p {
	case X12:
		lo, hi = 1, X12Max
	case EDIFACT:
		lo, hi = 0, EDIFACTMax
	default:
		return fmt.Errorf("protocol %v has no generated control numbers", p)
	}
	if b.Lower < lo || b.Upper > hi || b.Lower > b.Upper {
		return fmt.Errorf("bounds [%d, %d] are not a valid %v range (%d..%d)", b.Lower, b.Upper, p, lo, hi)
	}
	return nil
}

// Policy sets the margin of a bump.
type Policy struct {
	// MinBump is the least a number is raised by.
	MinBump int64
	// BlockSize is the connector's "Size of Control Numbers block": numbers the old
	// side may have reserved, and used, without the session showing it.
	BlockSize int64
	// Safety is added to the replication lag.
	Safety time.Duration
}

// Input is one generated session: what replication knows of the old side, and the
// target's current content.
type Input struct {
	// Session is the generated session's name ({agreement}-Icn, ...).
	Session string
	// Last is the old side's last known ControlNumber, as stored ("000000123").
	Last string
	// LastChangedTime is the old side's ControlNumberChangedTime for Last; zero when
	// unknown. With it, a target holding an older state of the session is known to
	// trail the old side even when its number is higher (the old side rolled over).
	LastChangedTime time.Time
	// Rate is the observed rate of new numbers, per second.
	Rate float64
	// Lag is the pair's replication lag.
	Lag time.Duration
	// Target is the target's current content of the session; nil (or JSON null) when
	// the target has no such session, in which case the bump creates it.
	Target json.RawMessage
}

// Bump is one session write of a plan.
type Bump struct {
	Session   string
	Agreement string
	Level     Level
	// From is the target's current number as stored ("" when it has none); To the
	// number written, with the same width and zero padding.
	From, To string
	// Floor is max(last + Margin, Lower): the number the target must at least hold.
	Floor, Margin int64
	// Wrapped says To starts a new rollover cycle: the floor passed the upper bound
	// and wrapped to the low end, or the target is moved below its current number.
	Wrapped bool
	// ChangedTime is the ControlNumberChangedTime written.
	ChangedTime time.Time
	// NewContent is the target's content with ControlNumber and
	// ControlNumberChangedTime replaced, everything else as it was.
	NewContent json.RawMessage
}

// Refusal is a session that has no safe number: the bump would pass the upper bound
// with rollover off, or lap the whole range.
type Refusal struct {
	Session   string
	Agreement string
	Level     Level
	Last      string
	Floor     int64
	Upper     int64
	Rollover  bool
	Reason    string
}

// Plan is the outcome of Compute: the writes, ordered by agreement and level, and the
// sessions that cannot be bumped. A plan with refusals must not be applied at all.
type Plan struct {
	Bumps   []Bump
	Refused []Refusal
}

// Err is nil when the plan can be applied, else an Invalid error naming every refusal.
func (p Plan) Err() error {
	if len(p.Refused) == 0 {
		return nil
	}
	reasons := make([]string, len(p.Refused))
	for i, r := range p.Refused {
		reasons[i] = r.Reason
	}
	return drerr.Errorf(drerr.Invalid, "failover.Plan", "refused: %s", strings.Join(reasons, "; "))
}

// Tick is a .NET tick, the resolution of ControlNumberChangedTime.
const Tick = session.Tick

// maxStamp is .NET's DateTime.MaxValue.
var maxStamp = time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)

const op = "failover.Compute"

// Compute works out the bumps of a failover onto the side whose agreements are given.
// now is the time the plan is made. Invalid inputs — a name that is not a generated
// session, a number that is not a number, a negative rate, an agreement or a range the
// target does not have — give an Invalid *drerr.Error naming the session; sessions are
// examined in name order, so the error does not depend on the order of inputs.
func Compute(inputs []Input, policy Policy, agreements []Agreement, now time.Time) (Plan, error) {
	if policy.MinBump < 0 || policy.BlockSize < 0 || policy.Safety < 0 {
		return Plan{}, drerr.Errorf(drerr.Invalid, op, "policy has a negative value: %+v", policy)
	}
	if now.IsZero() || now.After(maxStamp) {
		return Plan{}, drerr.Errorf(drerr.Invalid, op, "now %v is not a usable time", now)
	}
	byName := map[string][]int{}
	for i, a := range agreements {
		k := strings.ToLower(a.Name)
		byName[k] = append(byName[k], i)
	}

	sorted := make([]Input, len(inputs))
	copy(sorted, inputs)
	sort.SliceStable(sorted, func(i, j int) bool {
		li, lj := strings.ToLower(sorted[i].Session), strings.ToLower(sorted[j].Session)
		if li != lj {
			return li < lj
		}
		return sorted[i].Session < sorted[j].Session
	})

	var plan Plan
	seen := map[string]string{}
	for _, in := range sorted {
		agr, lvl, ok := ParseGenerated(in.Session)
		if !ok {
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q is not a generated control-number session", in.Session)
		}
		key := strings.ToLower(agr) + "\x00" + lvl.String()
		if prev, dup := seen[key]; dup {
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "sessions %q and %q are the same session", prev, in.Session)
		}
		seen[key] = in.Session
		idx := byName[strings.ToLower(agr)]
		switch {
		case len(idx) == 0:
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q: the target has no agreement %q", in.Session, agr)
		case len(idx) > 1:
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q: agreement %q is listed %d times", in.Session, agr, len(idx))
		}
		a := agreements[idx[0]]
		b, ok := a.BoundsFor(lvl)
		if !ok {
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q: agreement %q has no %v bounds", in.Session, agr, lvl)
		}
		if err := b.check(a.Protocol); err != nil {
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q: agreement %q %v: %v", in.Session, agr, lvl, err)
		}
		bump, refusal, err := one(in, agr, lvl, a.Protocol, b, policy, now)
		if err != nil {
			return Plan{}, drerr.Errorf(drerr.Invalid, op, "session %q: %v", in.Session, err)
		}
		switch {
		case refusal != nil:
			plan.Refused = append(plan.Refused, *refusal)
		case bump != nil:
			plan.Bumps = append(plan.Bumps, *bump)
		}
	}
	sort.SliceStable(plan.Bumps, func(i, j int) bool {
		x, y := plan.Bumps[i], plan.Bumps[j]
		return less(x.Agreement, x.Level, x.Session, y.Agreement, y.Level, y.Session)
	})
	sort.SliceStable(plan.Refused, func(i, j int) bool {
		x, y := plan.Refused[i], plan.Refused[j]
		return less(x.Agreement, x.Level, x.Session, y.Agreement, y.Level, y.Session)
	})
	return plan, nil
}

func less(a1 string, l1 Level, s1 string, a2 string, l2 Level, s2 string) bool {
	if f1, f2 := strings.ToLower(a1), strings.ToLower(a2); f1 != f2 {
		return f1 < f2
	}
	if a1 != a2 {
		return a1 < a2
	}
	if l1 != l2 {
		return l1 < l2
	}
	return s1 < s2
}

// Margin is max(MinBump, BlockSize + ceil(rate × (lag + Safety) seconds)), saturating
// at math.MaxInt64. It fails on a negative or non-finite rate or a negative lag.
func Margin(p Policy, rate float64, lag time.Duration) (int64, error) {
	if math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0 {
		return 0, fmt.Errorf("rate %v is not a non-negative number", rate)
	}
	if lag < 0 {
		return 0, fmt.Errorf("lag %v is negative", lag)
	}
	window := lag + p.Safety
	if window < lag { // overflow
		window = math.MaxInt64
	}
	x := math.Ceil(rate * window.Seconds())
	var sent int64 = math.MaxInt64
	if x < math.MaxInt64 {
		sent = int64(x)
	}
	return max(p.MinBump, addSat(p.BlockSize, sent)), nil
}

// addSat adds two non-negative numbers, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// maxDigits bounds a stored number's length, padding included: X12 numbers have 9
// digits, EDIFACT counters at most 14.
const maxDigits = 20

// parseNumber reads a control number as stored: ASCII digits only, leading zeros
// allowed, at most maxDigits long and at most math.MaxInt64.
func parseNumber(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty control number")
	}
	if len(s) > maxDigits {
		return 0, fmt.Errorf("control number %.24q... is longer than %d characters", s, maxDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("control number %q is not a number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("control number %q is out of range", s)
	}
	return n, nil
}

// one decides a single session: a bump, a refusal, or neither (the target covers its
// floor already).
func one(in Input, agr string, lvl Level, proto Protocol, b Bounds, p Policy, now time.Time) (*Bump, *Refusal, error) {
	last, err := parseNumber(in.Last)
	if err != nil {
		return nil, nil, fmt.Errorf("last: %w", err)
	}
	if in.LastChangedTime.After(maxStamp) {
		return nil, nil, fmt.Errorf("last changed time %v is past year 9999", in.LastChangedTime)
	}
	margin, err := Margin(p, in.Rate, in.Lag)
	if err != nil {
		return nil, nil, err
	}
	tgt, err := readTarget(in.Target)
	if err != nil {
		return nil, nil, fmt.Errorf("target content: %w", err)
	}
	var t int64
	if tgt.hasNumber {
		if t, err = parseNumber(tgt.number); err != nil {
			return nil, nil, fmt.Errorf("target: %w", err)
		}
	}
	floor := max(addSat(last, margin), b.Lower)
	refuse := func(format string, args ...any) (*Bump, *Refusal, error) {
		return nil, &Refusal{
			Session: in.Session, Agreement: agr, Level: lvl, Last: in.Last, Floor: floor, Upper: b.Upper, Rollover: b.Rollover,
			Reason: fmt.Sprintf("agreement %q %v (session %q): last %s, floor %d, upper bound %d: ", agr, lvl, in.Session, in.Last, floor, b.Upper) +
				fmt.Sprintf(format, args...),
		}, nil
	}
	if tgt.hasNumber && t > b.Upper && !b.Rollover {
		return refuse("the target's number %s is already past the upper bound and rollover is off", tgt.number)
	}

	// known: both sides' stamps are readable. A target whose state is not newer than
	// the old side's last change holds an old state of the session (replication copies
	// the old side's content): it trails the old side whatever its number says.
	known := !tgt.stamp.IsZero() && !in.LastChangedTime.IsZero()
	ahead := known && tgt.stamp.After(in.LastChangedTime)
	trails := known && !ahead

	var to int64
	wrapped := false
	if floor <= b.Upper {
		to = floor
		need := !tgt.hasNumber || t < floor || t > b.Upper || (trails && t != floor)
		if !need {
			return nil, nil, nil
		}
	} else {
		if !b.Rollover {
			return refuse("the floor is past the upper bound and rollover is off")
		}
		overflow := floor - b.Upper - 1
		// The wrapped number must stay below the old side's last number (and in range):
		// otherwise the margin exceeds the whole range and the target would start among
		// numbers the old side used in this very cycle.
		if last < b.Lower || overflow >= last-b.Lower || b.Lower+overflow > b.Upper {
			return refuse("margin %d laps the whole range [%d, %d] even with rollover", margin, b.Lower, b.Upper)
		}
		to = b.Lower + overflow
		wrapped = true
		// Already there: the same number, or the target changed after the old side's
		// last number and has moved on in the new cycle. Moving it back would resend
		// numbers it sent itself.
		if tgt.hasNumber && (t == to || (ahead && t > to && t < last)) {
			return nil, nil, nil
		}
	}
	if tgt.hasNumber && to < t {
		wrapped = true
	}

	// The new number keeps the stored width and zero padding; a JSON number stays a
	// number (it has no padding to keep).
	width := len(in.Last)
	if tgt.hasNumber {
		width = len(tgt.number)
	}
	toText := fmt.Sprintf("%0*d", width, to)
	if tgt.numberIsJSON {
		toText = strconv.FormatInt(to, 10)
	}
	stamp, err := nextStamp(now, tgt.stamp, in.LastChangedTime)
	if err != nil {
		return nil, nil, err
	}
	content, err := tgt.rewrite(toText, stamp, proto)
	if err != nil {
		return nil, nil, err
	}
	from := ""
	if tgt.hasNumber {
		from = tgt.number
	}
	return &Bump{
		Session: in.Session, Agreement: agr, Level: lvl,
		From: from, To: toText, Floor: floor, Margin: margin, Wrapped: wrapped,
		ChangedTime: stamp, NewContent: content,
	}, nil, nil
}

// nextStamp is the ControlNumberChangedTime of a write: max(now, old + 1 tick) as
// PowerShell's Set-AzIntegrationAccountGeneratedIcn does, and also past the old side's
// own stamp so that a late copy of the old side's number can never look newer than the
// bump under "newest wins". now is truncated to a tick; the result is always later than
// every stamp given.
func nextStamp(now, targetOld, lastOld time.Time) (time.Time, error) {
	for _, old := range [...]time.Time{targetOld, lastOld} {
		if old.After(maxStamp.Add(-Tick)) {
			return time.Time{}, fmt.Errorf("changed time %v leaves no later time before year 10000", old)
		}
	}
	return session.NextStamp(now, targetOld, lastOld), nil
}

// FormatStamp writes a time as .NET's round-trip format does: UTC, seven fractional
// digits (session.FormatStamp).
func FormatStamp(t time.Time) string { return session.FormatStamp(t) }

// forceToUpper turns each refusal of a forced move into a bump to the session's upper
// bound: with no safe number left, the side is set where it refuses to send on that
// level (the connector stops at a bound with rollover off) rather than left where it
// would send a number the old side may have sent. The refusals stay in the plan, so
// the journal says which sessions were forced, and to what.
func forceToUpper(pl Plan, inputs []Input, agreements []Agreement, now time.Time) (Plan, error) {
	byName := map[string]Input{}
	for _, in := range inputs {
		byName[strings.ToLower(in.Session)] = in
	}
	protocols := map[string]Protocol{}
	for _, a := range agreements {
		protocols[strings.ToLower(a.Name)] = a.Protocol
	}
	for i, r := range pl.Refused {
		in := byName[strings.ToLower(r.Session)]
		tgt, err := readTarget(in.Target)
		if err != nil {
			return Plan{}, fmt.Errorf("session %q: target content: %w", r.Session, err)
		}
		pl.Refused[i].Reason += fmt.Sprintf("; forced: set to the upper bound %d, where the side stops sending on this level until its range is widened", r.Upper)
		width := len(in.Last)
		if tgt.hasNumber {
			if t, err := parseNumber(tgt.number); err == nil && t >= r.Upper {
				continue // at (or past) the bound already
			}
			width = len(tgt.number)
		}
		to := fmt.Sprintf("%0*d", width, r.Upper)
		if tgt.numberIsJSON {
			to = strconv.FormatInt(r.Upper, 10)
		}
		stamp, err := nextStamp(now, tgt.stamp, in.LastChangedTime)
		if err != nil {
			return Plan{}, fmt.Errorf("session %q: %w", r.Session, err)
		}
		content, err := tgt.rewrite(to, stamp, protocols[strings.ToLower(r.Agreement)])
		if err != nil {
			return Plan{}, fmt.Errorf("session %q: %w", r.Session, err)
		}
		from := ""
		if tgt.hasNumber {
			from = tgt.number
		}
		pl.Bumps = append(pl.Bumps, Bump{Session: r.Session, Agreement: r.Agreement, Level: r.Level, From: from, To: to,
			Floor: r.Floor, Wrapped: false, ChangedTime: stamp, NewContent: content})
	}
	sort.SliceStable(pl.Bumps, func(i, j int) bool {
		x, y := pl.Bumps[i], pl.Bumps[j]
		return less(x.Agreement, x.Level, x.Session, y.Agreement, y.Level, y.Session)
	})
	return pl, nil
}
