package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"integration-dr/alert"
	"integration-dr/command"
	"integration-dr/journal"
)

// Function names of the operations side.
const (
	FnRunCommand        = "RunCommand"
	FnAlertIntake       = "AlertIntake"
	FnAdvanceOperations = "AdvanceOperations"
)

// Binding names, as in each function.json.
const (
	bindCommand = "command" // RunCommand's trigger, and AlertIntake's Service Bus output
	bindRequest = "req"
	bindReply   = "res"
)

// unknownPair is the journal partition of commands and alerts whose pair cannot be
// read or is not configured.
const unknownPair = journal.UnknownPair

// Operations runs commands as journaled plans.
type Operations interface {
	Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error)
	Propose(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error)
	Reject(ctx context.Context, c command.Command, src journal.Source, why string) (journal.Operation, error)
	Advance(ctx context.Context) ([]journal.Operation, error)
}

// Runner is an Operations that says which pairs it runs commands for.
type Runner interface {
	Operations
	Owns(pair string) bool
}

// ActionRunner is a Runner that takes commands by their action, whichever runner owns
// their pair: the mirror's drift and mirror commands, journaled apart from the plans.
type ActionRunner interface {
	Runner
	Handles(a command.Action) bool
}

// ByPair runs each command with the runner that owns its pair (integration-account
// pairs, SSIS pairs), or with an ActionRunner that handles its action and pair; a pair
// no runner owns goes to the first, which refuses it.
type ByPair []Runner

var _ Operations = ByPair(nil)

func (b ByPair) runner(c command.Command) Runner {
	for _, r := range b {
		if ar, ok := r.(ActionRunner); ok && ar.Handles(c.Action) && ar.Owns(c.Pair) {
			return r
		}
	}
	for _, r := range b {
		if _, byAction := r.(ActionRunner); !byAction && r.Owns(c.Pair) {
			return r
		}
	}
	return b[0]
}

func (b ByPair) Submit(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	return b.runner(c).Submit(ctx, c, src, rtoStart)
}

func (b ByPair) Propose(ctx context.Context, c command.Command, src journal.Source, rtoStart time.Time) (journal.Operation, error) {
	return b.runner(c).Propose(ctx, c, src, rtoStart)
}

func (b ByPair) Reject(ctx context.Context, c command.Command, src journal.Source, why string) (journal.Operation, error) {
	return b.runner(c).Reject(ctx, c, src, why)
}

// Advance advances every runner's waiting operations; one runner's failure does not
// hold up the others'.
func (b ByPair) Advance(ctx context.Context) ([]journal.Operation, error) {
	var out []journal.Operation
	var errs []error
	for _, r := range b {
		ops, err := r.Advance(ctx)
		out = append(out, ops...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// runCommand runs a command from the queue. Bad input is journaled as rejected and
// answered 2xx, so it is completed, not redelivered; a transient failure answers
// non-2xx, so the host redelivers the message and the plan resumes where it stopped.
func (h *Handler) runCommand(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply) {
	meta := Metadata(inv.Metadata)
	msgID := meta.String("MessageId")
	enqueued := time.Now()
	var t HostTime
	if raw, err := json.Marshal(meta.String("EnqueuedTimeUtc")); err == nil && t.UnmarshalJSON(raw) == nil && !t.IsZero() {
		enqueued = t.Time
	}
	body, err := DecodeMessageBody(inv.Data[bindCommand])
	var c command.Command
	if err == nil {
		c, err = command.Decode(body, msgID)
	}
	if err == nil && !h.KnownPair(c.Pair) {
		err = fmt.Errorf("command.pair: %q is not a configured pair", c.Pair)
	}
	if err != nil {
		return h.reject(ctx, log, rejectable(c, msgID, body), journal.Source{RequestedBy: c.RequestedBy}, err.Error())
	}
	log = log.With("command", c.ID, "pair", c.Pair, "action", c.Action, "deliveryCount", meta.String("DeliveryCount"))
	// A later delivery of this message may take over the claim this one makes.
	op, err := h.Operations.Submit(journal.WithDelivery(ctx, msgID), c, journal.Source{RequestedBy: c.RequestedBy}, enqueued)
	if err != nil {
		log.Error("command failed; the message comes back", "err", err)
		return http.StatusInternalServerError, Reply{Logs: []string{fmt.Sprintf("command %s: %v (the message will be redelivered and the plan resumed)", c.ID, err)}}
	}
	ev := operationEvent(op, time.Now())
	log.Info("command", append(ev.Attrs(), "status", op.Status, "error", op.Error)...)
	return http.StatusOK, Reply{ReturnValue: op, Logs: []string{summary(op), ev.Line()}}
}

func summary(op journal.Operation) string {
	s := fmt.Sprintf("operation %s (%s of %s): %s", op.ID, op.Action, op.Pair, op.Status)
	if op.Error != "" {
		s += ": " + op.Error
	}
	return s
}

// reject journals a refused command and answers 2xx: retrying cannot help. The reason
// is cut to what the journal keeps: bad input of any length ends rejected, never
// retried until it is dead-lettered.
func (h *Handler) reject(ctx context.Context, log *slog.Logger, c command.Command, src journal.Source, why string) (int, Reply) {
	why = journal.Cut(why, journal.MaxError)
	log.Warn("command rejected", "command", c.ID, "pair", c.Pair, "why", why)
	op, err := h.Operations.Reject(ctx, c, src, why)
	if err != nil {
		// The rejection could not be journaled: let the host try again.
		return http.StatusInternalServerError, Reply{Logs: []string{"rejecting command " + c.ID + ": " + err.Error()}}
	}
	return http.StatusOK, Reply{ReturnValue: op, Logs: []string{"rejected: " + why}}
}

// rejectable is a command that can be journaled, whatever arrived: its own id and
// pair where they are valid, else ones derived from the message.
func rejectable(c command.Command, msgID string, body []byte) command.Command {
	if !command.ValidID(c.ID) {
		c.ID = msgID
	}
	if !command.ValidID(c.ID) {
		sum := sha256.Sum256(body)
		c.ID = "invalid-" + hex.EncodeToString(sum[:12])
	}
	if !command.ValidPairName(c.Pair) {
		c.Pair = unknownPair
	}
	if _, ok := command.ParseAction(string(c.Action)); !ok {
		c.Action = ""
	}
	if !command.ValidID(c.Target) {
		c.Target = ""
	}
	return c
}

// alertIntake takes an Azure Monitor alert (common alert schema) from an action group.
// An allow-listed Fired alert becomes a command on the queue (mode auto) or a proposed
// operation (mode propose); everything else is journaled and answered, changing
// nothing. The command id derives from the alert id: a re-sent alert is one command.
func (h *Handler) alertIntake(ctx context.Context, inv Invocation, log *slog.Logger) (int, Reply) {
	var req struct {
		Method string          `json:"Method"`
		Body   json.RawMessage `json:"Body"`
	}
	if err := json.Unmarshal(inv.Data[bindRequest], &req); err != nil {
		return http.StatusOK, httpReply(http.StatusBadRequest, map[string]string{"error": "request is not the host's wrapped HTTP request: " + err.Error()})
	}
	body, err := DecodeMessageBody(req.Body)
	var a alert.Alert
	if err == nil {
		a, err = alert.Parse(body)
	}
	if err != nil {
		why := journal.Cut(err.Error(), journal.MaxError)
		h.journalAlert(ctx, log, alert.Alert{}, body, why)
		status := http.StatusBadRequest
		if errors.Is(err, alert.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		return http.StatusOK, httpReply(status, map[string]string{"error": why})
	}
	d := alert.Decide(a, h.AlertRules)
	log = log.With("alert", a.ID, "rule", a.Rule, "condition", a.Condition)
	switch d.Verdict {
	case alert.Refuse:
		h.journalAlert(ctx, log, a, body, d.Reason)
		return http.StatusOK, httpReply(http.StatusForbidden, map[string]string{"error": d.Reason})
	case alert.Journal:
		h.journalAlert(ctx, log, a, body, d.Reason)
		return http.StatusOK, httpReply(http.StatusOK, map[string]string{"result": "journaled", "reason": d.Reason})
	}
	c := alert.NewCommand(a, d.Rule)
	src := journal.Source{AlertID: a.ID, AlertRule: a.Rule, RequestedBy: c.RequestedBy}
	if d.Rule.Mode == alert.Propose {
		op, err := h.Operations.Propose(ctx, c, src, firedOrNow(a))
		if err != nil {
			return http.StatusInternalServerError, Reply{Logs: []string{"proposing: " + err.Error()}}
		}
		log.Info("alert proposed an operation", append(operationEvent(op, time.Now()).Attrs(), "command", op.ID)...)
		return http.StatusOK, httpReply(http.StatusAccepted, map[string]string{"result": "proposed", "id": op.ID, "confirm": "drctl confirm " + op.ID})
	}
	log.Info("alert queued a command", "command", c.ID, "action", c.Action, "pair", c.Pair)
	return http.StatusOK, Reply{
		Outputs: map[string]any{
			bindCommand: json.RawMessage(c.Encode()),
			bindReply:   httpResponse(http.StatusAccepted, map[string]string{"result": "queued", "id": c.ID, "action": string(c.Action), "pair": c.Pair}),
		},
		Logs: []string{fmt.Sprintf("queued %s of %s as %s: %s", c.Action, c.Pair, c.ID, d.Reason)},
	}
}

// alertTooLarge answers an alert invocation over the handler's limit through the HTTP
// output, 413 with a JSON body, and journals it: a non-2xx would fail the invocation
// and the action group would see a bare 500. Nothing is queued.
func (h *Handler) alertTooLarge(ctx context.Context, read []byte, log *slog.Logger) (int, Reply) {
	why := fmt.Sprintf("alert refused: the invocation is larger than %d bytes; an alert in the common alert schema is at most %d bytes", maxBody, alert.MaxBody)
	h.journalAlert(ctx, log, alert.Alert{}, read, why)
	return http.StatusOK, httpReply(http.StatusRequestEntityTooLarge, map[string]string{"error": why})
}

func firedOrNow(a alert.Alert) time.Time {
	if a.FiredAt.IsZero() {
		return time.Now()
	}
	return a.FiredAt
}

// journalAlert records an alert that started nothing, under the pair its rule names
// or the unknown pair, with why cut to what the journal keeps (journal.New cuts the
// alert's own fields).
func (h *Handler) journalAlert(ctx context.Context, log *slog.Logger, a alert.Alert, body []byte, why string) {
	why = journal.Cut(why, journal.MaxError)
	var id string
	if a.ID != "" {
		// Not the command id a Fired alert queues under: a Resolved notice journaled
		// first must not stand in for the failover it follows.
		id = alert.CommandID(a.ID + "|" + string(a.Condition))
	} else {
		sum := sha256.Sum256(body)
		id = "alert-invalid-" + hex.EncodeToString(sum[:12])
	}
	pair := unknownPair
	if d := alert.Decide(a, h.AlertRules); d.Rule.Pair != "" {
		pair = d.Rule.Pair
	}
	c := command.Command{ID: id, Pair: pair, Reason: why}
	if _, err := h.Operations.Reject(ctx, c, journal.Source{AlertID: a.ID, AlertRule: a.Rule, RequestedBy: "alert"}, why); err != nil {
		log.Error("journaling an alert", "err", err)
	}
	log.Warn("alert started nothing", "why", why)
}

func httpReply(status int, body any) Reply {
	return Reply{Outputs: map[string]any{bindReply: httpResponse(status, body)}}
}

// advanceOperations resumes operations waiting for the world, on the timer.
func (h *Handler) advanceOperations(ctx context.Context, _ Invocation, log *slog.Logger) (int, Reply) {
	ops, err := h.Operations.Advance(ctx)
	reply := Reply{ReturnValue: ops}
	now := time.Now()
	for _, op := range ops {
		ev := operationEvent(op, now)
		reply.Logs = append(reply.Logs, summary(op), ev.Line())
		log.Info("operation", ev.Attrs()...)
	}
	if err != nil {
		log.Error("advancing operations", "err", err)
		reply.Logs = append(reply.Logs, "advancing operations: "+err.Error())
		return http.StatusInternalServerError, reply
	}
	return http.StatusOK, reply
}
