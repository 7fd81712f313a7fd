package servicebus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"integration-dr/drerr"
)

// DeadLetterReceiver is the part of *azservicebus.Receiver, opened on the dead-letter
// sub-queue in peek-lock mode, that DeadLetters uses.
type DeadLetterReceiver interface {
	PeekMessages(ctx context.Context, max int, o *azservicebus.PeekMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	ReceiveMessages(ctx context.Context, max int, o *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	CompleteMessage(ctx context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.CompleteMessageOptions) error
	AbandonMessage(ctx context.Context, m *azservicebus.ReceivedMessage, o *azservicebus.AbandonMessageOptions) error
}

var _ DeadLetterReceiver = (*azservicebus.Receiver)(nil)

// DeadLetter is a dead-lettered command message, as an operator reads it.
type DeadLetter struct {
	SequenceNumber int64
	MessageID      string
	// ID, Action and Pair are read from the body; empty when it does not say (a body
	// that is not a command was journaled as rejected and is never dead-lettered, but
	// anyone can send anything to a queue).
	ID, Action, Pair string
	// Reason and Description are the broker's (MaxDeliveryCountExceeded, ...).
	Reason, Description string
	EnqueuedTime        time.Time
	DeliveryCount       uint32
}

// DeadLetters lists and resubmits the dead-lettered messages of the command queue.
type DeadLetters struct {
	dlq   DeadLetterReceiver
	queue MessageSender
	name  string
	// ReceiveWait bounds each receive while looking for a message to resubmit; Scan
	// bounds how many messages are looked at (and held locked) on the way.
	ReceiveWait time.Duration
	Scan        int
}

// NewDeadLetters tends the dead-letter queue read by dlq; resubmitted messages go to
// the queue through queue.
func NewDeadLetters(dlq DeadLetterReceiver, queue MessageSender, name string) *DeadLetters {
	return &DeadLetters{dlq: dlq, queue: queue, name: name, ReceiveWait: 5 * time.Second, Scan: 1000}
}

// Queue is the name of the queue whose dead letters these are.
func (d *DeadLetters) Queue() string { return d.name }

// peekPage is the most messages one peek asks for.
const peekPage = 100

// List peeks at up to limit dead-lettered messages, oldest first. Peeking locks nothing
// and changes nothing.
func (d *DeadLetters) List(ctx context.Context, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	from := int64(0)
	for len(out) < limit {
		msgs, err := d.dlq.PeekMessages(ctx, min(peekPage, limit-len(out)), &azservicebus.PeekMessagesOptions{FromSequenceNumber: &from})
		if err != nil {
			return out, wrap("peek the dead-letter queue of "+d.name, err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			dl := FromReceived(m)
			out = append(out, dl)
			from = max(from, dl.SequenceNumber+1)
		}
	}
	return out, nil
}

// Resubmit puts the dead-lettered message with that sequence number back on the
// queue: it locks it, sends its body under the same message id, and only then
// completes it in the dead-letter queue. A crash between the two leaves the message in
// both places, never in neither; the same id (the command's idempotency key) makes the
// duplicate harmless, since a journaled operation resumes rather than runs twice.
//
// drerr.NotFound when no such message is in the dead-letter queue (or another
// receiver holds it locked).
func (d *DeadLetters) Resubmit(ctx context.Context, seq int64) (DeadLetter, error) {
	const op = "resubmit"
	peeked, err := d.dlq.PeekMessages(ctx, 1, &azservicebus.PeekMessagesOptions{FromSequenceNumber: &seq})
	if err != nil {
		return DeadLetter{}, wrap("peek the dead-letter queue of "+d.name, err)
	}
	if len(peeked) == 0 || peeked[0].SequenceNumber == nil || *peeked[0].SequenceNumber != seq {
		return DeadLetter{}, drerr.Errorf(drerr.NotFound, op, "no message with sequence number %d in the dead-letter queue of %s", seq, d.name)
	}

	target, held, err := d.lock(ctx, seq)
	// Whatever happens, the other messages locked on the way go back at once: they
	// are not ours to settle.
	defer func() {
		for _, m := range held {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = d.dlq.AbandonMessage(actx, m, nil)
			cancel()
		}
	}()
	if err != nil {
		return DeadLetter{}, err
	}
	dl := FromReceived(target)
	if err := d.queue.SendMessage(ctx, Resent(target), nil); err != nil {
		held = append(held, target) // not sent: it stays dead-lettered, unlocked
		return dl, wrap("send message "+target.MessageID+" to queue "+d.name, err)
	}
	// Sent: from here on the message must not be abandoned, only completed. A lost
	// lock leaves a duplicate in the dead-letter queue, which a second resubmit
	// resolves harmlessly.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.dlq.CompleteMessage(cctx, target, nil); err != nil {
		return dl, drerr.E(drerr.CodeOf(wrap(op, err)), op, fmt.Errorf(
			"message %s was sent to %s again, but could not be removed from its dead-letter queue (%w); resubmitting it again is harmless: same id", target.MessageID, d.name, err))
	}
	return dl, nil
}

// lock receives (peek-lock) from the dead-letter queue until it holds the message
// with sequence number seq. Every other message received on the way is held locked
// and returned, so that the next receive moves on instead of getting it again.
func (d *DeadLetters) lock(ctx context.Context, seq int64) (*azservicebus.ReceivedMessage, []*azservicebus.ReceivedMessage, error) {
	var held []*azservicebus.ReceivedMessage
	for len(held) < d.Scan {
		rctx, cancel := context.WithTimeout(ctx, d.ReceiveWait)
		msgs, err := d.dlq.ReceiveMessages(rctx, min(20, d.Scan-len(held)), nil)
		cancel()
		if err != nil && ctx.Err() == nil && rctx.Err() != nil {
			err = nil // nothing more arrived within the wait
		}
		if err != nil {
			return nil, held, wrap("receive from the dead-letter queue of "+d.name, err)
		}
		if len(msgs) == 0 {
			break
		}
		var target *azservicebus.ReceivedMessage
		for _, m := range msgs {
			if target == nil && m.SequenceNumber != nil && *m.SequenceNumber == seq {
				target = m
				continue
			}
			held = append(held, m)
		}
		if target != nil {
			return target, held, nil
		}
	}
	return nil, held, drerr.Errorf(drerr.NotFound, "resubmit", "message %d is in the dead-letter queue of %s but could not be locked (another receiver may hold it); try again in a minute", seq, d.name)
}

// Dead-letter properties the broker adds to a message's application properties; a
// resubmitted message starts without them.
const (
	propDeadLetterReason      = "DeadLetterReason"
	propDeadLetterDescription = "DeadLetterErrorDescription"
)

// Resent is the message that puts a dead-lettered one back on the queue: the same
// body, message id, content type, subject and correlation id, and its application
// properties less the dead-letter ones.
func Resent(m *azservicebus.ReceivedMessage) *azservicebus.Message {
	id := m.MessageID
	props := maps.Clone(m.ApplicationProperties)
	delete(props, propDeadLetterReason)
	delete(props, propDeadLetterDescription)
	return &azservicebus.Message{
		Body:                  bytes.Clone(m.Body),
		MessageID:             &id,
		ContentType:           m.ContentType,
		Subject:               m.Subject,
		CorrelationID:         m.CorrelationID,
		ApplicationProperties: props,
	}
}

// FromReceived reads what an operator needs of a dead-lettered message. The body is
// read leniently: it is shown, not acted on.
func FromReceived(m *azservicebus.ReceivedMessage) DeadLetter {
	dl := DeadLetter{MessageID: m.MessageID, DeliveryCount: m.DeliveryCount}
	if m.SequenceNumber != nil {
		dl.SequenceNumber = *m.SequenceNumber
	}
	if m.EnqueuedTime != nil {
		dl.EnqueuedTime = m.EnqueuedTime.UTC()
	}
	if m.DeadLetterReason != nil {
		dl.Reason = *m.DeadLetterReason
	}
	if m.DeadLetterErrorDescription != nil {
		dl.Description = *m.DeadLetterErrorDescription
	}
	body := bytes.TrimSpace(m.Body)
	if len(body) > 0 && body[0] == '"' {
		// The host may hand on a body encoded as a JSON string; undo one level.
		var s string
		if json.Unmarshal(body, &s) == nil {
			body = []byte(s)
		}
	}
	var c struct {
		ID     string `json:"id"`
		Action string `json:"action"`
		Pair   string `json:"pair"`
	}
	if json.Unmarshal(body, &c) == nil {
		dl.ID, dl.Action, dl.Pair = c.ID, c.Action, c.Pair
	}
	if dl.ID == "" {
		dl.ID = m.MessageID // command.Decode takes the message id when the body has none
	}
	return dl
}
