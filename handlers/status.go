package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"integration-dr/overview"
	"integration-dr/statuspage"
	"integration-dr/view"
)

// status answers the HTTP-triggered Status function through its "res" output binding:
// the host wraps the caller's request in the invocation and returns res to the caller.
// JSON by default; the HTML page for a caller that prefers text/html (a browser).
// It reads Table Storage only, so it answers while a region is down. A part that
// could not be read is listed in the answer's problems and the rest is still shown:
// the operator needs the pending operations and the SSIS roles most when the streams
// cannot be read. Only when nothing at all could be read is it a 503.
func (h *Handler) status(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply) {
	o := overview.Collect(ctx, h.Overview, "")
	if len(o.Problems) > 0 && nothingRead(o) {
		log.Error("status unavailable", "problems", o.Problems)
		return http.StatusOK, Reply{
			Outputs: map[string]any{bindReply: httpResponse(http.StatusServiceUnavailable, map[string]any{"error": "state store unavailable", "problems": o.Problems})},
			Logs:    append([]string{"status unavailable"}, o.Problems...),
		}
	}
	if len(o.Problems) > 0 {
		log.Warn("status partly unavailable", "problems", o.Problems)
	}
	if wantsHTML(inv) {
		page, err := statuspage.Render(o)
		if err != nil {
			log.Error("status page", "err", err)
			return http.StatusOK, httpReply(http.StatusInternalServerError, map[string]string{"error": "the page could not be rendered"})
		}
		return http.StatusOK, Reply{Outputs: map[string]any{bindReply: map[string]any{
			"statusCode": http.StatusOK, "body": string(page),
			"headers": map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"},
		}}}
	}
	// The same document as drctl status --json: package view is the contract.
	body, err := view.Marshal(view.FromOverview(o))
	if err != nil {
		log.Error("status document", "err", err)
		return http.StatusOK, httpReply(http.StatusInternalServerError, map[string]string{"error": "the status could not be encoded"})
	}
	return http.StatusOK, Reply{Outputs: map[string]any{bindReply: map[string]any{
		"statusCode": http.StatusOK, "body": string(body),
		"headers": map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
	}}}
}

// nothingRead says the overview holds nothing read from the store: no stream, no
// readiness report, no operation, no SSIS pair.
func nothingRead(o overview.Overview) bool {
	return len(o.Streams) == 0 && len(o.Readiness) == 0 && len(o.Pending) == 0 && len(o.Operations) == 0 && len(o.SSIS) == 0
}

// wantsHTML says the wrapped request asks for the page: ?format=html, or an Accept
// header under which text/html is preferred to JSON (a browser's). A media range
// with q=0 refuses its types; each type takes the quality of the most specific
// range that names it (RFC 9110, 12.5.1), and */* counts for JSON as much as for
// HTML, so a tie, no Accept header, or "*/*" (curl) gets JSON.
func wantsHTML(inv Invocation) bool {
	var req struct {
		Headers map[string][]string `json:"Headers"`
		Query   map[string]string   `json:"Query"`
	}
	if json.Unmarshal(inv.Data[bindRequest], &req) != nil {
		return false
	}
	if strings.EqualFold(req.Query["format"], "html") {
		return true
	}
	var ranges []mediaRange
	for name, values := range req.Headers {
		if !strings.EqualFold(name, "Accept") {
			continue
		}
		for _, v := range values {
			ranges = append(ranges, parseAccept(v)...)
		}
	}
	html := quality(ranges, "text", "html")
	return html > 0 && html > quality(ranges, "application", "json")
}

// mediaRange is one element of an Accept header: type/subtype (either may be "*")
// and its quality.
type mediaRange struct {
	typ, sub string
	q        float64
}

// parseAccept reads an Accept header's media ranges; one that cannot be read (or
// whose q is not a number from 0 to 1) is left out.
func parseAccept(v string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// quality is the quality the ranges give type/sub: that of the most specific range
// matching it (type/sub, then type/*, then */*), the highest if several are as
// specific; 0 when none matches, or the matching one has q=0.
func quality(ranges []mediaRange, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, r := range ranges {
		spec := -1
		switch {
		case r.typ == typ && r.sub == sub:
			spec = 2
		case r.typ == typ && r.sub == "*":
			spec = 1
		case r.typ == "*" && r.sub == "*":
			spec = 0
		}
		switch {
		case spec < 0:
		case spec > best:
			best, q = spec, r.q
		case spec == best:
			q = max(q, r.q)
		}
	}
	return q
}
