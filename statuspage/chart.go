package statuspage

import (
	"fmt"
	"strings"
	"time"

	"integration-dr/replication"
)

// The chart's geometry, in SVG user units: drawn at 480×120, it stays readable when
// the page is narrow because the SVG scales.
const (
	chartW, chartH = 480, 120
	padLeft        = 44 // y labels
	padRight       = 8
	padTop         = 8
	padBottom      = 20 // x labels
	plotW          = chartW - padLeft - padRight
	plotH          = chartH - padTop - padBottom
	// maxChartPoints bounds the points drawn: History is bounded upstream, but a
	// checkpoint from a future version, or a bad one, must not make the page huge.
	maxChartPoints = 120
)

// chart is a pair's lag over its recent runs, ready to draw.
type chart struct {
	ID          string // prefix of element ids, unique on the page
	Title, Desc string
	W, H        int
	// Path is the lag line: one segment per run of consecutive usable lags.
	Path   string
	Points []chartPoint
	// Fails are the failed runs' x positions, drawn as faint bands behind the line.
	Fails []string
	// Axis and grid positions.
	Left, Right, Top, Bottom, Mid string
	LabelX, LabelBottomY          string
	MaxLabel, MidLabel            string
	StartLabel, EndLabel, Span    string
	CenterX                       string
	Runs, Failed, Omitted         int
}

// chartPoint is one run.
type chartPoint struct {
	Kind  string // "ok", "fail" or "nosync" (ran fine, no lag yet)
	X, Y  string
	Cross string // the failed run's × as a path
	Title string
}

func num(v float64) string { return fmt.Sprintf("%.1f", v) }

// lagChart lays out the history of one pair; nil when there is none.
func lagChart(id, pair string, hist []replication.RunSample) *chart {
	if len(hist) == 0 {
		return nil
	}
	c := &chart{ID: id, W: chartW, H: chartH}
	if len(hist) > maxChartPoints {
		c.Omitted = len(hist) - maxChartPoints
		hist = hist[c.Omitted:]
	}
	c.Runs = len(hist)

	top := 0.0
	for _, s := range hist {
		if validSeconds(s.LagSeconds) && s.LagSeconds > top {
			top = s.LagSeconds
		}
		if !s.OK {
			c.Failed++
		}
	}
	maxLag := top
	if top <= 0 {
		top = 1 // a flat line at zero still needs a scale
	}

	first, last := hist[0].At, hist[len(hist)-1].At
	byTime := len(hist) > 1 && timesUsable(hist)
	x := func(i int) float64 {
		switch {
		case len(hist) == 1:
			return padLeft + plotW/2
		case byTime:
			return padLeft + plotW*float64(hist[i].At.Sub(first))/float64(last.Sub(first))
		default:
			return padLeft + plotW*float64(i)/float64(len(hist)-1)
		}
	}
	bottom := float64(padTop + plotH)
	y := func(v float64) float64 { return padTop + plotH*(1-v/top) }

	var path strings.Builder
	pen := false // whether the line is drawing: a run without a lag lifts it
	for i, s := range hist {
		px, py := x(i), bottom
		usable := validSeconds(s.LagSeconds)
		if usable {
			py = y(s.LagSeconds)
			if pen {
				path.WriteString(" L")
			} else {
				if path.Len() > 0 {
					path.WriteByte(' ')
				}
				path.WriteString("M")
			}
			path.WriteString(num(px) + " " + num(py))
		}
		pen = usable

		p := chartPoint{X: num(px), Y: num(py)}
		lag := "no lag yet (first full sync not complete)"
		if usable {
			lag = "lag " + seconds(s.LagSeconds)
		}
		when := "time unknown"
		if !s.At.IsZero() {
			when = stamp(s.At)
		}
		outcome := "ok"
		switch {
		case !s.OK:
			p.Kind, outcome = "fail", "failed"
			p.Cross = fmt.Sprintf("M%s %sl7 7m0 -7l-7 7", num(px-3.5), num(py-3.5))
			c.Fails = append(c.Fails, num(px))
		case usable:
			p.Kind = "ok"
		default:
			p.Kind = "nosync"
		}
		p.Title = fmt.Sprintf("%s: %s, %s writes, %s", when, lag, count(s.Writes), outcome)
		c.Points = append(c.Points, p)
	}
	c.Path = path.String()

	c.Left, c.Right = num(padLeft), num(padLeft+plotW)
	c.Top, c.Bottom, c.Mid = num(padTop), num(bottom), num(padTop+plotH/2)
	c.LabelX, c.LabelBottomY, c.CenterX = num(padLeft-4), num(chartH-5), num(padLeft+plotW/2)
	c.MaxLabel, c.MidLabel = compact(maxLag), compact(maxLag/2)
	if maxLag <= 0 {
		c.MaxLabel, c.MidLabel = "", ""
	}

	switch {
	case byTime:
		c.StartLabel, c.EndLabel = clock(first), clock(last)+" UTC"
		c.Span = duration(last.Sub(first)) + " span"
	default:
		c.Span = count(int64(len(hist))) + " runs"
	}

	c.Title = fmt.Sprintf("Replication lag of %s over its last %d runs", pair, c.Runs)
	var d strings.Builder
	fmt.Fprintf(&d, "%d runs", c.Runs)
	if byTime {
		fmt.Fprintf(&d, " from %s to %s (%s)", stamp(first), stamp(last), duration(last.Sub(first)))
	}
	if maxLag > 0 {
		fmt.Fprintf(&d, "; highest lag %s", seconds(maxLag))
	}
	if l := hist[len(hist)-1].LagSeconds; validSeconds(l) {
		fmt.Fprintf(&d, "; lag at the last run %s", seconds(l))
	}
	switch c.Failed {
	case 0:
		d.WriteString("; no run failed.")
	case 1:
		d.WriteString("; 1 run failed.")
	default:
		fmt.Fprintf(&d, "; %d runs failed.", c.Failed)
	}
	c.Desc = d.String()
	return c
}

// timesUsable says the runs can be placed by time: every one stamped, in order, over
// a span longer than zero. Otherwise they are spaced evenly.
func timesUsable(hist []replication.RunSample) bool {
	for i, s := range hist {
		if s.At.IsZero() || (i > 0 && s.At.Before(hist[i-1].At)) {
			return false
		}
	}
	return hist[len(hist)-1].At.After(hist[0].At)
}

// clock is a time of day in UTC, for axis labels.
func clock(t time.Time) string { return t.UTC().Format("15:04") }
