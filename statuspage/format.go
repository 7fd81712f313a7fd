package statuspage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"integration-dr/redact"
)

// maxText bounds one free-text value (an error, a reason, an outcome): a stack trace
// or a whole response body must not push the rest of the page out of sight.
const maxText = 600

// text prepares free text for the page: secrets masked, length bounded. The overview
// from overview.Collect is masked already; masking again costs little and covers an
// overview built any other way.
func text(s string) string {
	return clip(redact.String(s), maxText)
}

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// validSeconds says v is a usable, non-negative number of seconds.
func validSeconds(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

// seconds formats a non-negative number of seconds for a reader: "2.1 s", "42 s",
// "4 min 12 s", "3 h 5 min", "2 d 4 h".
func seconds(v float64) string {
	if v > 1e9 { // about 30 years: bad data, and beyond what Duration holds
		return "over 30 years"
	}
	if v < 9.95 {
		return strconv.FormatFloat(v, 'f', 1, 64) + " s"
	}
	s := int64(math.Round(v))
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return joinUnits(s/60, "min", s%60, "s")
	case s < 48*3600:
		return joinUnits(s/3600, "h", s%3600/60, "min")
	default:
		return joinUnits(s/86400, "d", s%86400/3600, "h")
	}
}

func joinUnits(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, ua)
	}
	return fmt.Sprintf("%d %s %d %s", a, ua, b, ub)
}

// duration formats d as seconds does; negative durations keep their sign.
func duration(d time.Duration) string {
	if d < 0 {
		return "−" + seconds(-d.Seconds())
	}
	return seconds(d.Seconds())
}

// compact formats seconds for a chart label, where width is short: "2.1s", "42s",
// "4m12s", "3h05m", "2d04h".
func compact(v float64) string {
	if !validSeconds(v) {
		return "?"
	}
	if v > 1e9 {
		return ">30y"
	}
	if v < 9.95 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "s"
	}
	s := int64(math.Round(v))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// stamp formats a moment in UTC, whole seconds; "—" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// ago says how long before now t was, for a reader who wants to know if it is fresh;
// "" when either is unknown.
func ago(t, now time.Time) string {
	if t.IsZero() || now.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < 0 {
		return duration(-d) + " after this page was generated"
	}
	return duration(d) + " ago"
}

// count formats n with thousands separators: counts are read at a glance.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// capped keeps at most n items and says how many were left out.
func capped[T any](items []T, n int) list[T] {
	if len(items) > n {
		return list[T]{Items: items[:n], More: len(items) - n}
	}
	return list[T]{Items: items}
}

// list is a bounded list as the page shows it: the items, and how many more there
// were.
type list[T any] struct {
	Items []T
	More  int
}

// texts prepares free-text lines and bounds their number.
func texts(lines []string, n int) list[string] {
	l := capped(lines, n)
	out := make([]string, len(l.Items))
	for i, s := range l.Items {
		out[i] = text(s)
	}
	l.Items = out
	return l
}
