package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"integration-dr/overview"
	"integration-dr/statuspage"
)

// status answers the HTTP-triggered Status function through its "res" output binding:
// the host wraps the caller's request in the invocation and returns res to the caller.
// JSON by default; the HTML page for a caller that accepts text/html (a browser).
// It reads Table Storage only, so it answers while a region is down.
func (h *Handler) status(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply) {
	o := overview.Collect(ctx, h.Overview, "")
	if len(o.Streams) == 0 && len(o.Problems) > 0 && h.Overview.Streams != nil {
		log.Error("status unavailable", "problems", o.Problems)
		return http.StatusOK, Reply{
			Outputs: map[string]any{bindReply: httpResponse(http.StatusServiceUnavailable, map[string]any{"error": "state store unavailable", "problems": o.Problems})},
			Logs:    append([]string{"status unavailable"}, o.Problems...),
		}
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
	return http.StatusOK, Reply{Outputs: map[string]any{bindReply: httpResponse(http.StatusOK, o)}}
}

// wantsHTML reads the wrapped request's Accept header (or ?format=html): a browser
// asks for text/html before anything else.
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
	for name, values := range req.Headers {
		if !strings.EqualFold(name, "Accept") {
			continue
		}
		for _, v := range values {
			for _, part := range strings.Split(v, ",") {
				if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/html" {
					return true
				}
			}
		}
	}
	return false
}
