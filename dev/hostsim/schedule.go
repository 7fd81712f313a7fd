package hostsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// schedule is a timer trigger's schedule as the timer extension reads it: a six-field
// NCRONTAB expression (seconds first; five fields are refused) or, failing that, a
// .NET TimeSpan ("00:05:00", "1.00:00") meaning a constant interval. Times are UTC
// (WEBSITE_TIME_ZONE is not simulated).
type schedule struct {
	expr   string
	every  time.Duration // constant schedule when > 0
	fields [6][]bool     // second, minute, hour, day of month, month, day of week
	wild   bool          // minute and coarser fields are all "*"
}

var cronRanges = [6]struct{ lo, hi int }{{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}

// Read-only tables.
var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// parseSchedule reads expr as the timer extension does, with its error message.
func parseSchedule(expr string) (*schedule, error) {
	parts := strings.Fields(expr)
	if len(parts) == 6 {
		s := &schedule{expr: expr, wild: true}
		for i, p := range parts {
			set, err := cronField(p, i)
			if err != nil {
				return nil, fmt.Errorf("the schedule expression %q was not recognized as a valid cron expression: field %d: %w", expr, i+1, err)
			}
			s.fields[i] = set
			if i > 0 && p != "*" {
				s.wild = false
			}
		}
		return s, nil
	}
	if d, ok := parseTimeSpan(expr); ok && d > 0 {
		return &schedule{expr: expr, every: d}, nil
	}
	return nil, fmt.Errorf("the schedule expression %q was not recognized as a valid cron expression or timespan string (NCRONTAB needs six fields, seconds first)", expr)
}

func cronField(field string, idx int) ([]bool, error) {
	lo, hi := cronRanges[idx].lo, cronRanges[idx].hi
	set := make([]bool, hi+1)
	for item := range strings.SplitSeq(field, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad step in %q", item)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = cronValue(a, idx); err != nil {
				return nil, err
			}
			if to, err = cronValue(b, idx); err != nil {
				return nil, err
			}
			if from > to {
				return nil, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := cronValue(rng, idx)
			if err != nil {
				return nil, err
			}
			from = v
			if !hasStep { // "5/15" runs from 5 to the end; "5" is just 5
				to = v
			}
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, nil
}

func cronValue(s string, idx int) (int, error) {
	var names []string
	switch idx {
	case 4:
		names = monthNames
	case 5:
		names = dayNames
	}
	for i, n := range names {
		if strings.EqualFold(s, n) {
			if idx == 4 {
				return i + 1, nil
			}
			return i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < cronRanges[idx].lo || v > cronRanges[idx].hi {
		return 0, fmt.Errorf("value %q outside %d-%d", s, cronRanges[idx].lo, cronRanges[idx].hi)
	}
	return v, nil
}

// next returns the first occurrence strictly after t (UTC), or the zero time when the
// expression never fires (e.g. 30 February) within fifty years.
func (s *schedule) next(t time.Time) time.Time {
	t = t.UTC()
	if s.every > 0 {
		return t.Add(s.every)
	}
	f := s.fields
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for range 366 * 50 {
		// NCRONTAB requires day of month AND day of week to match (unlike Vixie cron).
		if f[4][day.Month()] && f[3][day.Day()] && f[5][day.Weekday()] {
			for h := range 24 {
				if !f[2][h] {
					continue
				}
				for m := range 60 {
					if !f[1][m] {
						continue
					}
					for sec := range 60 {
						if !f[0][sec] {
							continue
						}
						if c := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second); c.After(t) {
							return c
						}
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// monitored reports whether the timer extension keeps a schedule monitor for this
// schedule: useMonitor as configured, except that schedules firing more than once a
// minute (constant intervals under a minute, or "X * * * * *" with several seconds)
// are never monitored (TimerSchedule.ShouldDisableScheduleMonitor).
func (s *schedule) monitored(useMonitor bool, now time.Time) bool {
	if !useMonitor {
		return false
	}
	if s.every > 0 {
		return s.every >= time.Minute
	}
	if !s.wild {
		return true
	}
	// More than one occurrence within the next minute (end exclusive) means sub-minute.
	second := s.next(s.next(now))
	return second.IsZero() || !second.Before(now.Add(time.Minute))
}

// parseTimeSpan reads the .NET TimeSpan forms used in host.json and schedules:
// "d", "hh:mm", "hh:mm:ss", "d.hh:mm[:ss]" with optional ".fffffff" seconds fraction.
func parseTimeSpan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int
	if !strings.Contains(s, ":") {
		d, err := strconv.Atoi(s)
		if err != nil {
			return 0, false
		}
		days = d
		s = "0:0"
	} else if d, rest, ok := strings.Cut(s, "."); ok && !strings.Contains(d, ":") {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, false
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if len(parts) == 3 {
		sec, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || sec < 0 || sec >= 60 {
			return 0, false
		}
		d += time.Duration(sec * float64(time.Second))
	}
	if neg {
		d = -d
	}
	return d, true
}
