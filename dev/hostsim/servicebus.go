package hostsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Message is a Service Bus message. The first group is what a sender sets; the rest
// the broker (here, the simulator) sets.
type Message struct {
	Body                  []byte
	MessageID             string // generated (32 hex digits) when empty
	ContentType           string
	Subject               string // also sent as Label
	CorrelationID         string
	SessionID             string
	ApplicationProperties map[string]any

	SequenceNumber             int64
	EnqueuedTime               time.Time
	ExpiresAt                  time.Time
	DeliveryCount              int    // deliveries so far, the current one included
	LockToken                  string // of the current or last delivery
	DeadLetterReason           string
	DeadLetterErrorDescription string
	// LastError is the simulator's note of why the last delivery failed (not a
	// Service Bus property): the invocation error behind an abandon.
	LastError string
}

func (m Message) clone() Message {
	m.Body = bytes.Clone(m.Body)
	m.ApplicationProperties = maps.Clone(m.ApplicationProperties)
	return m
}

// QueueOptions are a queue's properties that matter to delivery.
type QueueOptions struct {
	MaxDeliveryCount int           // deliveries before dead-lettering; default 10
	TimeToLive       time.Duration // default message time to live; default 14 days
	// DeadLetterOnExpiration moves expired messages to the dead-letter queue
	// (reason TTLExpiredException) instead of dropping them.
	DeadLetterOnExpiration bool
}

func (o QueueOptions) withDefaults() QueueOptions {
	if o.MaxDeliveryCount <= 0 {
		o.MaxDeliveryCount = 10
	}
	if o.TimeToLive <= 0 {
		o.TimeToLive = 14 * 24 * time.Hour
	}
	return o
}

type entry struct {
	msg    Message
	locked bool // peek-locked by a delivery in flight
}

type queue struct {
	opts   QueueOptions
	seq    int64
	active []*entry // in sequence-number order
	dead   []Message
}

// Outcome is how a delivery was settled.
type Outcome string

const (
	Completed    Outcome = "Completed"    // success: removed from the queue
	Abandoned    Outcome = "Abandoned"    // failure: back on the queue, delivered again
	DeadLettered Outcome = "DeadLettered" // failure at the max delivery count
)

// Delivery is one delivery of a message to a serviceBusTrigger function.
type Delivery struct {
	Result
	Queue   string
	Message Message // as delivered: DeliveryCount and LockToken of this delivery
	Outcome Outcome
}

// DeliveryRecord is a delivery as kept in the host's log, for assertions.
type DeliveryRecord struct {
	Function       string
	Queue          string
	MessageID      string
	SequenceNumber int64
	DeliveryCount  int
	Outcome        Outcome
	Status         int // the handler's HTTP status; 0 when none arrived
	InvocationID   string
	Err            string // the invocation's error; "" on success
}

// queueLocked returns the named queue, creating it with default options. h.mu held
// (or h not yet shared).
func (h *Host) queueLocked(name string) *queue {
	q, ok := h.queues[name]
	if !ok {
		q = &queue{opts: QueueOptions{}.withDefaults()}
		h.queues[name] = q
	}
	return q
}

// ConfigureQueue creates the queue or changes its options (e.g. MaxDeliveryCount).
func (h *Host) ConfigureQueue(name string, opts QueueOptions) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queueLocked(name).opts = opts.withDefaults()
}

// Send enqueues a message as a Service Bus client would, and returns it as stored
// (sequence number, enqueued time, message id). The queue must exist: queues named in
// function.json exist; others are made with ConfigureQueue.
func (h *Host) Send(queueName string, m Message) (Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, ok := h.queues[queueName]
	if !ok {
		return Message{}, fmt.Errorf("hostsim: queue %q does not exist (MessagingEntityNotFound)", queueName)
	}
	return h.enqueueLocked(q, m), nil
}

func (h *Host) enqueueLocked(q *queue, m Message) Message {
	m = m.clone()
	now := h.opts.Now().UTC()
	q.seq++
	m.SequenceNumber = q.seq
	m.EnqueuedTime = now
	m.ExpiresAt = now.Add(q.opts.TimeToLive)
	m.DeliveryCount, m.LockToken = 0, ""
	m.DeadLetterReason, m.DeadLetterErrorDescription, m.LastError = "", "", ""
	if m.MessageID == "" {
		m.MessageID = newMessageID()
	}
	q.active = append(q.active, &entry{msg: m})
	return m.clone()
}

// Messages returns the queue's active messages (locked ones included), in order.
func (h *Host) Messages(queueName string) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, ok := h.queues[queueName]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(q.active))
	for _, e := range q.active {
		out = append(out, e.msg.clone())
	}
	return out
}

// DeadLetters returns the queue's dead-letter queue, oldest first.
func (h *Host) DeadLetters(queueName string) []Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, ok := h.queues[queueName]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(q.dead))
	for _, m := range q.dead {
		out = append(out, m.clone())
	}
	return out
}

// Resubmit moves a dead-lettered message (by its sequence number) back to its queue
// as an operator's "resubmit" does: a copy is sent (new sequence number, delivery
// count 0, same body, id and properties) and the dead-lettered one is removed.
func (h *Host) Resubmit(queueName string, sequenceNumber int64) (Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q, ok := h.queues[queueName]
	if !ok {
		return Message{}, fmt.Errorf("hostsim: queue %q does not exist", queueName)
	}
	i := slices.IndexFunc(q.dead, func(m Message) bool { return m.SequenceNumber == sequenceNumber })
	if i < 0 {
		return Message{}, fmt.Errorf("hostsim: no dead-lettered message %d in %s", sequenceNumber, queueName)
	}
	m := q.dead[i]
	q.dead = slices.Delete(q.dead, i, i+1)
	return h.enqueueLocked(q, m), nil
}

// Deliveries returns the log of every delivery so far, oldest first.
func (h *Host) Deliveries() []DeliveryRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.deliveries)
}

// DeliverNext delivers the next message of queueName to the function listening on it.
func (h *Host) DeliverNext(ctx context.Context, queueName string) (Delivery, error) {
	var listeners []string
	for _, name := range h.app.Names() {
		if f := h.app.Functions[name]; f.Trigger == ServiceBusTrigger && f.Queue == queueName && !f.Disabled {
			listeners = append(listeners, name)
		}
	}
	if len(listeners) != 1 {
		return Delivery{}, fmt.Errorf("hostsim: queue %q has %d listening functions (%s); use DeliverOne", queueName, len(listeners), strings.Join(listeners, ", "))
	}
	return h.DeliverOne(ctx, listeners[0])
}

// DeliverOne peek-locks the next message on fn's queue, invokes fn with it as the
// host does and settles it: complete on success; otherwise abandon (delivered again,
// DeliveryCount + 1) or, at the queue's MaxDeliveryCount, dead-letter. Outputs of a
// successful invocation are sent. ErrNoMessage when the queue has nothing to deliver.
// The error is otherwise non-nil only for misuse or when ctx ends (the message is
// then abandoned, as on host shutdown); a failed invocation is Delivery.Err.
func (h *Host) DeliverOne(ctx context.Context, fn string) (Delivery, error) {
	f, err := h.function(fn, ServiceBusTrigger)
	if err != nil {
		return Delivery{}, err
	}
	now := h.opts.Now().UTC()
	h.mu.Lock()
	q := h.queueLocked(f.Queue)
	e := h.lockNextLocked(q, now)
	var msg Message
	if e != nil {
		msg = e.msg.clone()
	}
	h.mu.Unlock()
	if e == nil {
		return Delivery{Queue: f.Queue}, fmt.Errorf("%w: queue %s (function %s)", ErrNoMessage, f.Queue, fn)
	}

	data, metadata := serviceBusPayload(f, msg, now)
	res, ctxErr := h.invoke(ctx, f, data, metadata)
	var sends map[string][]Message
	if res.Success {
		if sends, err = queueSends(f, &res); err != nil {
			res.Success, res.Err = false, err
		}
	}

	d := Delivery{Result: res, Queue: f.Queue, Message: msg}
	h.mu.Lock()
	defer h.mu.Unlock()
	// Outputs are sent before the message is completed, under one lock: no observer
	// sees the message gone without its outputs.
	h.sendAllLocked(sends)
	d.Outcome = h.settleLocked(q, e, res)
	h.deliveries = append(h.deliveries, DeliveryRecord{
		Function: fn, Queue: f.Queue, MessageID: msg.MessageID, SequenceNumber: msg.SequenceNumber,
		DeliveryCount: msg.DeliveryCount, Outcome: d.Outcome, Status: res.Status, InvocationID: res.InvocationID,
		Err: errText(d.Result.Err),
	})
	return d, ctxErr
}

// lockNextLocked drops (or dead-letters) expired messages, then locks the first free
// one, counting the delivery and issuing a lock token. nil when none is free.
func (h *Host) lockNextLocked(q *queue, now time.Time) *entry {
	kept := q.active[:0]
	for _, e := range q.active {
		if !e.locked && !now.Before(e.msg.ExpiresAt) {
			if q.opts.DeadLetterOnExpiration {
				m := e.msg
				m.DeadLetterReason, m.DeadLetterErrorDescription = "TTLExpiredException", "The message expired and was dead lettered."
				q.dead = append(q.dead, m)
			}
			continue
		}
		kept = append(kept, e)
	}
	clear(q.active[len(kept):]) // let dropped entries be collected
	q.active = kept
	for _, e := range q.active {
		if !e.locked {
			e.locked = true
			e.msg.DeliveryCount++
			e.msg.LockToken = newGUID()
			return e
		}
	}
	return nil
}

func (h *Host) settleLocked(q *queue, e *entry, res Result) Outcome {
	failure := res.Err
	if failure == nil && !h.app.AutoComplete {
		// Nobody completes the message: a custom handler has no way to settle it, so
		// its lock expires and it comes back like an abandoned one.
		failure = fmt.Errorf("hostsim: lock expired: autoCompleteMessages is false and a custom handler cannot settle messages")
	}
	i := slices.Index(q.active, e)
	if failure == nil {
		q.active = slices.Delete(q.active, i, i+1)
		return Completed
	}
	e.locked = false
	e.msg.LastError = failure.Error()
	if e.msg.DeliveryCount >= q.opts.MaxDeliveryCount {
		q.active = slices.Delete(q.active, i, i+1)
		m := e.msg
		m.DeadLetterReason = "MaxDeliveryCountExceeded"
		m.DeadLetterErrorDescription = fmt.Sprintf("Message could not be consumed after %d delivery attempts.", q.opts.MaxDeliveryCount)
		q.dead = append(q.dead, m)
		return DeadLettered
	}
	return Abandoned
}

// Drain delivers fn's messages until its queue has none left to deliver or max
// deliveries were made (max <= 0 means 1000, a guard against a function that feeds
// its own queue). It stops early only when ctx ends or on misuse.
func (h *Host) Drain(ctx context.Context, fn string, max int) ([]Delivery, error) {
	if max <= 0 {
		max = 1000
	}
	var out []Delivery
	for range max {
		d, err := h.DeliverOne(ctx, fn)
		if errors.Is(err, ErrNoMessage) {
			return out, nil
		}
		if d.Outcome != "" {
			out = append(out, d)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// serviceBusPayload is the Data and Metadata the host sends for a message (Service Bus
// extension 5.x binding data, through the custom handler's serializer).
func serviceBusPayload(fn *Function, m Message, now time.Time) (data, metadata map[string]any) {
	var body any
	if fn.DataType == "binary" {
		body = base64.StdEncoding.EncodeToString(m.Body) // byte[]: base64, once
	} else {
		body = hostValue(string(m.Body)) // a string: JSON-encoded once more
	}
	data = map[string]any{fn.TriggerBinding: body}

	props := m.ApplicationProperties
	if props == nil {
		props = map[string]any{}
	}
	md := map[string]any{
		"DeliveryCount":         hostValue(m.DeliveryCount),
		"SequenceNumber":        hostValue(m.SequenceNumber),
		"MessageId":             hostValue(m.MessageID),
		"LockToken":             hostValue(m.LockToken),
		"EnqueuedTimeUtc":       hostValue(m.EnqueuedTime),
		"EnqueuedTime":          hostValue(dotnetOffset(m.EnqueuedTime)),
		"ExpiresAtUtc":          hostValue(m.ExpiresAt),
		"ExpiresAt":             hostValue(dotnetOffset(m.ExpiresAt)),
		"ApplicationProperties": props,
		"UserProperties":        props,
		// Client objects the extension adds to binding data; handlers ignore them.
		"MessageActions": map[string]any{},
		"ReceiveActions": map[string]any{},
		"Client":         map[string]any{"IsClosed": false, "TransportType": 0},
		"sys":            sysData(fn.Name, now),
	}
	for k, v := range map[string]string{
		"ContentType": m.ContentType, "CorrelationId": m.CorrelationID, "SessionId": m.SessionID,
		"Subject": m.Subject, "Label": m.Subject,
	} {
		if v != "" { // null values are left out
			md[k] = hostValue(v)
		}
	}
	addBodyProperties(md, m.Body)
	return data, md
}

// addBodyProperties adds the top-level properties of a JSON object body to the
// metadata, as the host's binding data does for binding expressions (the fixture's
// "action": "\"failover\""). Existing keys win.
func addBodyProperties(md map[string]any, body []byte) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(t, &obj) != nil {
		return
	}
	taken := map[string]bool{}
	for k := range md {
		taken[strings.ToLower(k)] = true // binding data keys are case-insensitive
	}
	for k, raw := range obj {
		if taken[strings.ToLower(k)] {
			continue
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case isNull(raw):
		case raw[0] == '"':
			var s string
			_ = json.Unmarshal(raw, &s)
			md[k] = hostValue(s)
		case raw[0] == '{' || raw[0] == '[':
			md[k] = raw
		default: // number or bool: its text, as a string
			md[k] = string(raw)
		}
	}
}

// outputMessages turns a Service Bus output value into messages as the host and the
// binding do: an array sends one message per element, an object one message of
// indented JSON, a string that string, except that a string that is valid base64
// is first decoded to bytes unless the binding says dataType binary
// (HttpScriptInvocationResultExtensions.GetBindingValue). The binding cannot set
// MessageId: messages get a generated one, and content type text/plain.
func outputMessages(raw json.RawMessage, binary bool) ([]Message, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, nil
	}
	var bodies [][]byte
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			if b, ok, err := outputBody(it, false); err != nil {
				return nil, err
			} else if ok {
				bodies = append(bodies, b)
			}
		}
	} else if b, ok, err := outputBody(raw, !binary); err != nil {
		return nil, err
	} else if ok {
		bodies = append(bodies, b)
	}
	msgs := make([]Message, 0, len(bodies))
	for _, b := range bodies {
		msgs = append(msgs, Message{Body: b, ContentType: "text/plain", MessageID: newMessageID()})
	}
	return msgs, nil
}

func outputBody(tok json.RawMessage, tryBase64 bool) ([]byte, bool, error) {
	tok = bytes.TrimSpace(tok)
	switch {
	case isNull(tok):
		return nil, false, nil
	case tok[0] == '"':
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return nil, false, err
		}
		if tryBase64 {
			if b, ok := dotnetBase64(s); ok {
				return b, true, nil
			}
		}
		return []byte(s), true, nil
	case tok[0] == '{' || tok[0] == '[':
		var buf bytes.Buffer
		if err := json.Indent(&buf, tok, "", "  "); err != nil { // JToken.ToString()
			return nil, false, err
		}
		return buf.Bytes(), true, nil
	default:
		return bytes.Clone(tok), true, nil
	}
}

// dotnetBase64 decodes s as Convert.FromBase64String does: whitespace ignored,
// padding required, "" is valid (no bytes).
func dotnetBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	if len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
