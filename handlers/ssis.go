package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"integration-dr/ssis"
)

// FnReconcileSSIS is the SSIS reconcile timer.
const FnReconcileSSIS = "ReconcileSSIS"

// SSIS reconciles the SSIS pairs and reports on them.
type SSIS interface {
	ReconcileAll(ctx context.Context) ([]ssis.Report, error)
	Status(ctx context.Context) ([]ssis.PairStatus, error)
}

// reconcileSSIS runs one reconcile pass over every SSIS pair. What a pass could not
// read or change is reported and tried again next tick: only a pass that could not
// record its outcome answers non-2xx.
func (h *Handler) reconcileSSIS(ctx context.Context, _ Invocation, log *slog.Logger) (int, Reply) {
	reports, err := h.SSIS.ReconcileAll(ctx)
	reply := Reply{ReturnValue: reports}
	for _, r := range reports {
		line := fmt.Sprintf("SSIS pair %s: %s", r.Pair, reportLine(r))
		reply.Logs = append(reply.Logs, line)
		if len(r.Problems) > 0 || r.Unknown != "" {
			log.Warn("ssis reconcile", "pair", r.Pair, "unknown", r.Unknown, "problems", r.Problems, "changes", r.Changes)
		} else {
			log.Info("ssis reconcile", "pair", r.Pair, "converged", r.Converged, "changes", r.Changes)
		}
	}
	if err != nil {
		log.Error("ssis reconcile", "err", err)
		reply.Logs = append(reply.Logs, "SSIS reconcile: "+err.Error())
		return http.StatusInternalServerError, reply
	}
	return http.StatusOK, reply
}

func reportLine(r ssis.Report) string {
	switch {
	case r.Unknown != "":
		return "role unknown, nothing changed: " + r.Unknown
	case r.Converged:
		return "converged, nothing to change"
	}
	s := fmt.Sprintf("%d changes", len(r.Changes))
	if len(r.Changes) > 0 {
		s += " (" + strings.Join(r.Changes, "; ") + ")"
	}
	if len(r.Problems) > 0 {
		s += "; problems: " + strings.Join(r.Problems, "; ")
	}
	return s
}
