package servicebus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"integration-dr/azure/servicebus"
	"integration-dr/command"
	"integration-dr/drerr"
)

// fakeBroker is a queue and its dead-letter sub-queue, implementing the two small
// interfaces the package uses. events records every call in order.
type fakeBroker struct {
	mu       sync.Mutex
	sent     []*azservicebus.Message
	dlq      []*azservicebus.ReceivedMessage
	locked   map[int64]bool
	events   []string
	sendErr  error
	complErr error
}

var (
	_ servicebus.MessageSender      = (*fakeBroker)(nil)
	_ servicebus.DeadLetterReceiver = (*fakeBroker)(nil)
)

func (b *fakeBroker) event(format string, args ...any) {
	b.events = append(b.events, fmt.Sprintf(format, args...))
}

func (b *fakeBroker) SendMessage(_ context.Context, m *azservicebus.Message, _ *azservicebus.SendMessageOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.event("send %s", *m.MessageID)
	if b.sendErr != nil {
		return b.sendErr
	}
	b.sent = append(b.sent, m)
	return nil
}

func (b *fakeBroker) PeekMessages(_ context.Context, max int, o *azservicebus.PeekMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*azservicebus.ReceivedMessage
	for _, m := range b.dlq {
		if o != nil && o.FromSequenceNumber != nil && *m.SequenceNumber < *o.FromSequenceNumber {
			continue
		}
		if len(out) == max {
			break
		}
		out = append(out, m)
	}
	return out, nil
}

// ReceiveMessages hands out unlocked messages in sequence order, as the broker does,
// and locks them; with none left it waits for ctx, as the SDK does.
func (b *fakeBroker) ReceiveMessages(ctx context.Context, max int, _ *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error) {
	b.mu.Lock()
	var out []*azservicebus.ReceivedMessage
	for _, m := range b.dlq {
		if len(out) < max && !b.locked[*m.SequenceNumber] {
			b.locked[*m.SequenceNumber] = true
			out = append(out, m)
		}
	}
	b.mu.Unlock()
	if len(out) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return out, nil
}

func (b *fakeBroker) CompleteMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.CompleteMessageOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.event("complete %d", *m.SequenceNumber)
	if b.complErr != nil {
		return b.complErr
	}
	b.dlq = slices.DeleteFunc(b.dlq, func(x *azservicebus.ReceivedMessage) bool { return *x.SequenceNumber == *m.SequenceNumber })
	delete(b.locked, *m.SequenceNumber)
	return nil
}

func (b *fakeBroker) AbandonMessage(_ context.Context, m *azservicebus.ReceivedMessage, _ *azservicebus.AbandonMessageOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.event("abandon %d", *m.SequenceNumber)
	delete(b.locked, *m.SequenceNumber)
	return nil
}

func deadLettered(seq int64, c command.Command, reason string) *azservicebus.ReceivedMessage {
	m := servicebus.Message(c)
	enq := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute)
	props := m.ApplicationProperties
	props["DeadLetterReason"] = reason
	props["DeadLetterErrorDescription"] = "delivered 10 times"
	return &azservicebus.ReceivedMessage{
		Body: m.Body, MessageID: *m.MessageID, ContentType: m.ContentType, Subject: m.Subject,
		ApplicationProperties: props, SequenceNumber: &seq, EnqueuedTime: &enq, DeliveryCount: 10,
		DeadLetterReason: &reason, DeadLetterErrorDescription: new("delivered 10 times"),
	}
}

func failoverCommand(id string) command.Command {
	epoch := int64(3)
	return command.Command{ID: id, Action: command.Failover, Pair: "contoso-b2b", Reason: "West Europe outage", RequestedBy: "ops@contoso", DryRun: true, ExpectedEpoch: &epoch}
}

func TestMessageCarriesTheCommandAsRunCommandReadsIt(t *testing.T) {
	c := failoverCommand("fo-2026-11-23-1")
	m := servicebus.Message(c)

	back, err := command.Decode(m.Body, "")
	if err != nil {
		t.Fatalf("RunCommand could not decode the body %s: %v", m.Body, err)
	}
	if back.ID != c.ID || back.Action != c.Action || back.Pair != c.Pair || back.Reason != c.Reason ||
		back.RequestedBy != c.RequestedBy || back.DryRun != c.DryRun || back.ExpectedEpoch == nil || *back.ExpectedEpoch != 3 {
		t.Errorf("decoded %+v, want %+v", back, c)
	}
	if m.MessageID == nil || *m.MessageID != c.ID {
		t.Errorf("MessageID = %v, want the command id %q", m.MessageID, c.ID)
	}
	if m.ContentType == nil || *m.ContentType != "application/json" {
		t.Errorf("ContentType = %v", m.ContentType)
	}
	if m.Subject == nil || *m.Subject != "failover" {
		t.Errorf("Subject = %v, want the action", m.Subject)
	}
	want := map[string]any{"pair": "contoso-b2b", "action": "failover", "requestedBy": "ops@contoso", "dryRun": true}
	if fmt.Sprint(m.ApplicationProperties) != fmt.Sprint(want) {
		t.Errorf("ApplicationProperties = %v, want %v", m.ApplicationProperties, want)
	}
}

func TestSendPostsOneMessageAndRefusesAnInvalidCommand(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}}
	s := servicebus.NewSender(b, "dr-commands")
	if err := s.Send(context.Background(), failoverCommand("fo-1")); err != nil {
		t.Fatal(err)
	}
	if len(b.sent) != 1 || *b.sent[0].MessageID != "fo-1" {
		t.Fatalf("sent %v", b.events)
	}

	err := s.Send(context.Background(), command.Command{ID: "fo-2", Action: "explode", Pair: "contoso-b2b"})
	if !drerr.Is(err, drerr.Invalid) || len(b.sent) != 1 {
		t.Errorf("an invalid command: err %v, %d sent; want Invalid and nothing sent", err, len(b.sent))
	}
}

func TestSendNamesTheQueueAndCodesTheBrokersError(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}, sendErr: &azservicebus.Error{Code: azservicebus.CodeNotFound}}
	err := servicebus.NewSender(b, "dr-commands").Send(context.Background(), failoverCommand("fo-1"))
	if !drerr.Is(err, drerr.NotFound) || !strings.Contains(err.Error(), "dr-commands") {
		t.Errorf("err = %v; want NotFound naming the queue", err)
	}
	b.sendErr = errors.New("dial tcp: connection refused")
	if err := servicebus.NewSender(b, "q").Send(context.Background(), failoverCommand("fo-1")); !drerr.Is(err, drerr.Unavailable) {
		t.Errorf("err = %v; want Unavailable", err)
	}
}

func TestNewWithoutANamespaceSaysNothingIsConfigured(t *testing.T) {
	if _, err := servicebus.New(servicebus.Config{Queue: "dr-commands"}); !errors.Is(err, servicebus.ErrNotConfigured) {
		t.Errorf("err = %v, want ErrNotConfigured", err)
	}
	const secret = "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s3cr3t;EntityPath"
	_, err := servicebus.New(servicebus.Config{Queue: "dr-commands", ConnectionString: secret})
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error echoes the key: %v", err)
	}
}

func TestListShowsEachDeadLetterWithItsCommandAndReason(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}}
	for i := range int64(130) {
		b.dlq = append(b.dlq, deadLettered(i+1, failoverCommand(fmt.Sprintf("fo-%d", i+1)), "MaxDeliveryCountExceeded"))
	}
	d := servicebus.NewDeadLetters(b, b, "dr-commands")
	got, err := d.List(context.Background(), 120)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 120 || got[0].SequenceNumber != 1 || got[119].SequenceNumber != 120 {
		t.Fatalf("listed %d, first %+v", len(got), got[0])
	}
	first := got[0]
	if first.ID != "fo-1" || first.Action != "failover" || first.Pair != "contoso-b2b" || first.Reason != "MaxDeliveryCountExceeded" ||
		first.Description != "delivered 10 times" || first.MessageID != "fo-1" || first.DeliveryCount != 10 || first.EnqueuedTime.IsZero() {
		t.Errorf("first = %+v", first)
	}
	if len(b.events) != 0 {
		t.Errorf("listing settled messages: %v", b.events)
	}
}

func TestFromReceivedReadsABodyEncodedAsAStringAndOneThatIsNoCommand(t *testing.T) {
	seq := int64(7)
	body, _ := json.Marshal(string(failoverCommand("fo-9").Encode()))
	dl := servicebus.FromReceived(&azservicebus.ReceivedMessage{Body: body, MessageID: "m-9", SequenceNumber: &seq})
	if dl.ID != "fo-9" || dl.Action != "failover" || dl.Pair != "contoso-b2b" {
		t.Errorf("string body: %+v", dl)
	}
	dl = servicebus.FromReceived(&azservicebus.ReceivedMessage{Body: []byte("not json"), MessageID: "m-10", SequenceNumber: &seq})
	if dl.ID != "m-10" || dl.Action != "" || dl.SequenceNumber != 7 {
		t.Errorf("garbage body: %+v", dl)
	}
}

func TestResubmitSendsTheSameMessageBeforeCompletingIt(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}}
	for i := range int64(5) {
		b.dlq = append(b.dlq, deadLettered(i+1, failoverCommand(fmt.Sprintf("fo-%d", i+1)), "MaxDeliveryCountExceeded"))
	}
	d := servicebus.NewDeadLetters(b, b, "dr-commands")
	dl, err := d.Resubmit(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if dl.SequenceNumber != 4 || dl.ID != "fo-4" {
		t.Errorf("resubmitted %+v", dl)
	}
	// Sent first, completed second; the three messages locked on the way back at once.
	if i, j := slices.Index(b.events, "send fo-4"), slices.Index(b.events, "complete 4"); i < 0 || j < 0 || i > j {
		t.Errorf("events %v: want send fo-4 before complete 4", b.events)
	}
	for _, seq := range []int64{1, 2, 3} {
		if !slices.Contains(b.events, fmt.Sprintf("abandon %d", seq)) {
			t.Errorf("message %d was locked and not given back: %v", seq, b.events)
		}
	}
	if slices.Contains(b.events, "abandon 4") || len(b.dlq) != 4 || len(b.locked) != 0 {
		t.Errorf("after: dlq %d, locked %v, events %v", len(b.dlq), b.locked, b.events)
	}
	sent := b.sent[0]
	orig := deadLettered(4, failoverCommand("fo-4"), "x")
	if string(sent.Body) != string(orig.Body) || *sent.MessageID != "fo-4" || *sent.Subject != "failover" || *sent.ContentType != "application/json" {
		t.Errorf("sent %s %v", sent.Body, sent)
	}
	if _, ok := sent.ApplicationProperties["DeadLetterReason"]; ok || sent.ApplicationProperties["pair"] != "contoso-b2b" {
		t.Errorf("sent properties %v: want the command's, without the dead-letter ones", sent.ApplicationProperties)
	}
}

func TestResubmitThatCannotSendLeavesTheMessageDeadLettered(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}, sendErr: &azservicebus.Error{Code: azservicebus.CodeConnectionLost}}
	b.dlq = append(b.dlq, deadLettered(1, failoverCommand("fo-1"), "MaxDeliveryCountExceeded"))
	_, err := servicebus.NewDeadLetters(b, b, "dr-commands").Resubmit(context.Background(), 1)
	if !drerr.Is(err, drerr.Unavailable) {
		t.Errorf("err = %v, want Unavailable", err)
	}
	if slices.Contains(b.events, "complete 1") || len(b.dlq) != 1 || !slices.Contains(b.events, "abandon 1") {
		t.Errorf("events %v, dlq %d: want it kept and unlocked", b.events, len(b.dlq))
	}
}

func TestResubmitThatCannotCompleteSaysASecondResubmitIsHarmless(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}, complErr: &azservicebus.Error{Code: azservicebus.CodeLockLost}}
	b.dlq = append(b.dlq, deadLettered(1, failoverCommand("fo-1"), "MaxDeliveryCountExceeded"))
	_, err := servicebus.NewDeadLetters(b, b, "dr-commands").Resubmit(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "harmless") || len(b.sent) != 1 {
		t.Errorf("err = %v, sent %d", err, len(b.sent))
	}
	if slices.Contains(b.events, "abandon 1") {
		t.Errorf("a sent message was abandoned: %v", b.events)
	}
}

func TestResubmitOfAnUnknownSequenceNumberIsNotFound(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{}}
	b.dlq = append(b.dlq, deadLettered(1, failoverCommand("fo-1"), "MaxDeliveryCountExceeded"))
	_, err := servicebus.NewDeadLetters(b, b, "dr-commands").Resubmit(context.Background(), 99)
	if !drerr.Is(err, drerr.NotFound) || len(b.events) != 0 {
		t.Errorf("err = %v, events %v", err, b.events)
	}
}

func TestResubmitOfAMessageSomeoneElseHoldsGivesUpAndUnlocksWhatItTook(t *testing.T) {
	b := &fakeBroker{locked: map[int64]bool{2: true}}
	b.dlq = append(b.dlq, deadLettered(1, failoverCommand("fo-1"), "x"), deadLettered(2, failoverCommand("fo-2"), "x"))
	d := servicebus.NewDeadLetters(b, b, "dr-commands")
	d.ReceiveWait = 50 * time.Millisecond
	_, err := d.Resubmit(context.Background(), 2)
	if !drerr.Is(err, drerr.NotFound) || !slices.Contains(b.events, "abandon 1") || len(b.sent) != 0 {
		t.Errorf("err = %v, events %v", err, b.events)
	}
}
