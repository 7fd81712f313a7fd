package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"integration-dr/alert"
	"integration-dr/drerr"
	"integration-dr/overview"
	"integration-dr/redact"
	"integration-dr/replication"
)

// Function names: each is a folder under functions/ and the path the host POSTs to.
const (
	FnReplicateSessions = "ReplicateSessions"
	FnStatus            = "Status"
)

// maxBody bounds what the handler reads of a request; the host's payloads are small.
const maxBody = 1 << 20

// Replicator runs a replication pass over every configured pair.
type Replicator interface {
	ReplicateAll(ctx context.Context) ([]replication.Stats, error)
}

// Handler serves the custom-handler routes.
type Handler struct {
	Replicator Replicator
	// Overview is where the Status function reads from.
	Overview overview.Sources
	// Operations runs commands; KnownPair says which pairs exist; AlertRules is the
	// allow-list of alert rules.
	Operations Operations
	// SSIS reconciles the SSIS pairs; nil when there are none.
	SSIS       SSIS
	KnownPair  func(string) bool
	AlertRules []alert.Rule
	Log        *slog.Logger
	// Timeout bounds one invocation; keep it below host.json's functionTimeout.
	Timeout time.Duration
}

// ServeHTTP routes the host's requests. GET / is the host's readiness probe.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log.With("invocationId", r.Header.Get("X-Azure-Functions-InvocationId"), "function", r.URL.Path)
	defer func() {
		// Nothing a request carries may take the process down.
		if v := recover(); v != nil {
			log.Error("handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeReply(w, http.StatusInternalServerError, Reply{Logs: []string{"internal error; see the handler's log"}})
		}
	}()
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		writeReply(w, http.StatusOK, Reply{ReturnValue: "ready"})
	case r.URL.Path == "/"+FnReplicateSessions && r.Method == http.MethodPost:
		h.invoke(w, r, log, h.replicate)
	case r.URL.Path == "/"+FnStatus && r.Method == http.MethodPost:
		h.invoke(w, r, log, h.status)
	case r.URL.Path == "/"+FnRunCommand && r.Method == http.MethodPost && h.Operations != nil:
		h.invoke(w, r, log, h.runCommand)
	case r.URL.Path == "/"+FnAlertIntake && r.Method == http.MethodPost && h.Operations != nil:
		h.invokeLimited(w, r, log, h.alertIntake, h.alertTooLarge)
	case r.URL.Path == "/"+FnAdvanceOperations && r.Method == http.MethodPost && h.Operations != nil:
		h.invoke(w, r, log, h.advanceOperations)
	case r.URL.Path == "/"+FnReconcileSSIS && r.Method == http.MethodPost && h.SSIS != nil:
		h.invoke(w, r, log, h.reconcileSSIS)
	default:
		writeReply(w, http.StatusNotFound, Reply{Logs: []string{fmt.Sprintf("no function at %s %s", r.Method, r.URL.Path)}})
	}
}

type function func(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply)

// oversized answers an invocation larger than maxBody, given what was read of it.
type oversized func(ctx context.Context, read []byte, log *slog.Logger) (int, Reply)

func (h *Handler) invoke(w http.ResponseWriter, r *http.Request, log *slog.Logger, fn function) {
	h.invokeLimited(w, r, log, fn, nil)
}

// invokeLimited is invoke with tooBig answering an invocation over maxBody; nil
// answers it 413, which fails the invocation.
func (h *Handler) invokeLimited(w http.ResponseWriter, r *http.Request, log *slog.Logger, fn function, tooBig oversized) {
	// The host's own request context ends if the host goes away; the timeout keeps a
	// run inside the function's time limit. Shutdown does not cancel it: a run in
	// flight on SIGTERM finishes.
	ctx, cancel := context.WithTimeout(r.Context(), h.Timeout)
	defer cancel()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBigErr *http.MaxBytesError
		if errors.As(err, &tooBigErr) {
			log.Warn("invocation refused", "reason", "too large", "limitBytes", maxBody)
			if tooBig != nil {
				status, reply := tooBig(ctx, body, log)
				writeReply(w, status, reply)
				return
			}
			writeReply(w, http.StatusRequestEntityTooLarge, Reply{Logs: []string{fmt.Sprintf("invocation larger than %d bytes refused", maxBody)}})
			return
		}
		writeReply(w, http.StatusBadRequest, Reply{Logs: []string{"reading invocation: " + err.Error()}})
		return
	}
	inv, err := DecodeInvocation(body)
	if err != nil {
		log.Warn("invocation refused", "err", err)
		writeReply(w, http.StatusBadRequest, Reply{Logs: []string{err.Error()}})
		return
	}
	status, reply := fn(ctx, inv, log)
	writeReply(w, status, reply)
}

// replicate runs one replication pass over every pair. The timer's data says nothing
// the pass needs: state comes from the checkpoints, so odd timer data is only logged.
func (h *Handler) replicate(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply) {
	timer, err := DecodeTimer(inv.Data["timer"])
	if err != nil {
		log.Warn("timer data unreadable; running anyway", "err", err)
	} else if timer.IsPastDue {
		log.Info("timer is past due")
	}
	stats, err := h.Replicator.ReplicateAll(ctx)
	reply := Reply{ReturnValue: stats}
	errs := pairErrors(err, stats)
	for _, s := range stats {
		line := fmt.Sprintf("pair %s: %s scan, listed %d, wrote %d, same %d, standby newer %d, rescan skipped %d, list calls %d, lag %s",
			s.Pair, s.Scan, s.Listed, s.Writes, s.Same, s.StandbyNewer, s.RescanSkipped, s.Pages, s.Lag.Round(time.Millisecond))
		switch {
		case s.Skipped != "":
			line = fmt.Sprintf("pair %s: skipped: %s", s.Pair, s.Skipped)
		case s.Scan != "" && !s.ScanDone:
			line += fmt.Sprintf("; scan continues next run (%d listed so far)", s.ScanListed)
		case s.ReconcileDone:
			line += fmt.Sprintf("; reconciliation done, healed %d", s.Healed)
		case s.Reconcile:
			line += fmt.Sprintf("; reconciliation continues next run (%d listed so far, healed %d)", s.ReconcileListed, s.Healed)
		}
		if s.MergedBack > 0 {
			line += fmt.Sprintf("; merged back %d sessions the old side held alone", s.MergedBack)
		}
		if s.FutureStamped > 0 {
			line += fmt.Sprintf("; %d sessions stamped ahead of the service's clock", s.FutureStamped)
		}
		ev := replicationEvent(s, errs[s.Pair])
		reply.Logs = append(reply.Logs, line, ev.Line())
		log.Info("replication pass", append(ev.Attrs(), "scan", s.Scan, "scanDone", s.ScanDone, "listed", s.Listed, "writes", s.Writes, "same", s.Same,
			"standbyNewer", s.StandbyNewer, "rescanSkipped", s.RescanSkipped, "listCalls", s.Pages, "futureStamped", s.FutureStamped, "skipped", s.Skipped)...)
	}
	if err == nil {
		return http.StatusOK, reply
	}
	// Each pair's error is judged on its own: one throttled pair must not hide
	// another's failure.
	failed := false
	for _, e := range splitJoined(err) {
		var commit *replication.CommitError
		if errors.As(e, &commit) {
			// The run's outcome was not recorded: its lease may still be held and its
			// error missing from the status page. Never "merely throttled".
			failed = true
			log.Error("replication run not recorded in its checkpoint", "err", e)
			reply.Logs = append(reply.Logs, "replication run not recorded in its checkpoint: "+e.Error())
			continue
		}
		if throttledOnly(e) {
			log.Warn("throttled by ARM; the next tick resumes", "err", e)
			reply.Logs = append(reply.Logs, "throttled by ARM; the next tick resumes: "+e.Error())
			continue
		}
		failed = true
		log.Error("replication failed", "err", e)
		reply.Logs = append(reply.Logs, "replication failed: "+e.Error())
	}
	if failed {
		return http.StatusInternalServerError, reply
	}
	return http.StatusOK, reply
}

// throttledOnly says every failure in err is ARM's throttling: a pair's error may join
// several (the run's and its commit's), and one throttled among them must not stand
// for the others. The outermost drerr code on each path decides, as drerr.CodeOf does.
func throttledOnly(err error) bool {
	switch x := err.(type) {
	case nil:
		return false
	case *drerr.Error:
		return x.Code == drerr.Throttled
	case interface{ Unwrap() []error }:
		errs := x.Unwrap()
		for _, e := range errs {
			if e != nil && !throttledOnly(e) {
				return false
			}
		}
		return len(errs) > 0
	case interface{ Unwrap() error }:
		return throttledOnly(x.Unwrap())
	}
	return false
}

// splitJoined returns the errors errors.Join put together, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

// httpResponse is an HTTP output binding's value.
func httpResponse(status int, body any) map[string]any {
	b, _ := json.Marshal(body)
	return map[string]any{"statusCode": status, "body": string(b), "headers": map[string]string{"Content-Type": "application/json"}}
}

func writeReply(w http.ResponseWriter, status int, r Reply) {
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	if r.Logs == nil {
		r.Logs = []string{}
	}
	// The host writes Logs to Application Insights: masked like every other log.
	r.Logs = redact.Strings(r.Logs)
	body, err := json.Marshal(r)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"Outputs":{},"Logs":["reply could not be encoded"],"ReturnValue":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
