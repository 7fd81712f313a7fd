package hostsim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const commandBody = `{"action":"failover","pair":"contoso-b2b","reason":"drill <1>"}`

// TestDeliveryPayload: the body and metadata as the handler receives them.
func TestDeliveryPayload(t *testing.T) {
	h, fake := newTestHost(t, Options{})
	sent, err := h.Send("commands", Message{
		Body: []byte(commandBody), MessageID: "5f2c3e1b", ContentType: "application/json",
		CorrelationID: "drill-1", Subject: "cmd", ApplicationProperties: map[string]any{"source": "drctl", "n": 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.DeliverOne(context.Background(), "Command")
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != Completed {
		t.Fatalf("outcome %s: %v", d.Outcome, d.Err)
	}
	c := fake.last(t)
	if c.Path != "/Command" {
		t.Errorf("posted to %s", c.Path)
	}

	// The body is a string, so the host JSON-encodes it once more: the handler gets a
	// JSON string whose content is a JSON string whose content is the body.
	outer := unquote(t, c.Inv.Data["command"])
	if inner := unquote(t, json.RawMessage(outer)); inner != commandBody {
		t.Errorf("Data.command decodes to %q, want %q (raw %s)", inner, commandBody, c.Inv.Data["command"])
	}

	md := c.Inv.Metadata
	wantText := map[string]string{ // Metadata value, as the JSON text on the wire
		"DeliveryCount":   `"1"`,
		"SequenceNumber":  `"1"`,
		"MessageId":       `"\"5f2c3e1b\""`,
		"ContentType":     `"\"application/json\""`,
		"CorrelationId":   `"\"drill-1\""`,
		"Subject":         `"\"cmd\""`,
		"Label":           `"\"cmd\""`,
		"EnqueuedTimeUtc": `"\"2026-11-20T09:01:30Z\""`,
		"ExpiresAtUtc":    `"\"2026-12-04T09:01:30Z\""`,
		"action":          `"\"failover\""`, // top-level body properties, as binding data
	}
	for k, want := range wantText {
		if got := string(md[k]); got != want {
			t.Errorf("Metadata.%s = %s, want %s", k, got, want)
		}
	}
	var props map[string]any
	if err := json.Unmarshal(md["ApplicationProperties"], &props); err != nil || props["source"] != "drctl" || props["n"] != 3.0 {
		t.Errorf("ApplicationProperties = %s (objects are not encoded again)", md["ApplicationProperties"])
	}
	if string(md["UserProperties"]) != string(md["ApplicationProperties"]) {
		t.Errorf("UserProperties %s differs from ApplicationProperties", md["UserProperties"])
	}
	if lock := unquote(t, json.RawMessage(unquote(t, md["LockToken"]))); len(lock) != 36 {
		t.Errorf("LockToken %s", md["LockToken"])
	}
	if _, ok := md["SessionId"]; ok {
		t.Error("a null SessionId must be left out")
	}
	var sys struct{ MethodName string }
	_ = json.Unmarshal(md["sys"], &sys)
	if sys.MethodName != "Command" {
		t.Errorf("sys = %s", md["sys"])
	}
	if sent.SequenceNumber != 1 || !sent.EnqueuedTime.Equal(testNow) {
		t.Errorf("Send returned %+v", sent)
	}
}

func TestDeliveryPayloadBinary(t *testing.T) {
	fns := map[string]string{"Bin": `{"bindings": [{"name": "msg", "type": "serviceBusTrigger", "direction": "in", "queueName": "q", "connection": "C", "dataType": "binary"}]}`}
	app, err := Load(writeApp(t, testHostJSON, fns), map[string]string{"C": "Endpoint=sb://x/"})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeHandler{}
	h := newHostFor(t, app, fake)
	body := []byte{0, 1, 2, 0xff}
	if _, err := h.Send("q", Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.DeliverOne(context.Background(), "Bin"); err != nil {
		t.Fatal(err)
	}
	if got := unquote(t, fake.last(t).Inv.Data["msg"]); got != base64.StdEncoding.EncodeToString(body) {
		t.Errorf("byte[] body arrives as %q, want base64", got)
	}
}

// TestSettlement: complete on success, abandon with DeliveryCount + 1 on failure,
// dead-letter at the max delivery count; outputs only from successful invocations.
func TestSettlement(t *testing.T) {
	fail := func(w http.ResponseWriter, _ *http.Request, _ call) {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"Outputs": map[string]any{"audit": "dropped"}, "Logs": []string{"boom"}})
	}
	succeed := outputs(map[string]any{"audit": map[string]any{"done": true}})
	notJSON := func(w http.ResponseWriter, _ *http.Request, _ call) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("OK"))
	}
	killed := func(w http.ResponseWriter, _ *http.Request, _ call) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close() // as when the handler is SIGKILLed mid-invocation
		}
	}
	tests := []struct {
		name     string
		maxCount int
		replies  []func(http.ResponseWriter, *http.Request, call) // per delivery
		outcomes []Outcome
		audit    int // messages the audit output sent
		dead     bool
	}{
		{"complete on 2xx", 0, replies(succeed), outcomes(Completed), 1, false},
		{"abandon twice then complete", 0, replies(fail, fail, succeed), outcomes(Abandoned, Abandoned, Completed), 1, false},
		{"dead-letter at max delivery count", 3, replies(fail, fail, fail), outcomes(Abandoned, Abandoned, DeadLettered), 0, true},
		{"closed connection is a failure", 0, replies(killed, succeed), outcomes(Abandoned, Completed), 1, false},
		{"non-JSON 2xx is a failure", 2, replies(notJSON, notJSON), outcomes(Abandoned, DeadLettered), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fake := newTestHost(t, Options{})
			if tt.maxCount > 0 {
				h.ConfigureQueue("commands", QueueOptions{MaxDeliveryCount: tt.maxCount})
			}
			sent, _ := h.Send("commands", Message{Body: []byte(commandBody), MessageID: "m-1"})
			var mu sync.Mutex
			n := 0
			fake.setReply(func(w http.ResponseWriter, r *http.Request, c call) {
				mu.Lock()
				reply := tt.replies[min(n, len(tt.replies)-1)]
				n++
				mu.Unlock()
				reply(w, r, c)
			})

			ds, err := h.Drain(context.Background(), "Command", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != len(tt.outcomes) {
				t.Fatalf("%d deliveries, want %d", len(ds), len(tt.outcomes))
			}
			for i, d := range ds {
				if d.Outcome != tt.outcomes[i] || d.Message.DeliveryCount != i+1 {
					t.Errorf("delivery %d: %s with count %d, want %s with count %d (%v)", i, d.Outcome, d.Message.DeliveryCount, tt.outcomes[i], i+1, d.Err)
				}
				if (d.Outcome == Completed) != d.Success {
					t.Errorf("delivery %d: outcome %s but success %v", i, d.Outcome, d.Success)
				}
			}
			// The handler saw the count grow, as metadata strings.
			for i, c := range fake.Calls() {
				if got, want := string(c.Inv.Metadata["DeliveryCount"]), `"`+string(rune('1'+i))+`"`; got != want {
					t.Errorf("call %d: DeliveryCount %s, want %s", i, got, want)
				}
			}
			log := h.Deliveries()
			if len(log) != len(tt.outcomes) || log[len(log)-1].MessageID != "m-1" || log[len(log)-1].Outcome != tt.outcomes[len(tt.outcomes)-1] {
				t.Errorf("delivery log %+v", log)
			}
			if got := len(h.Messages("audit")); got != tt.audit {
				t.Errorf("%d audit messages, want %d (outputs of failed invocations are dropped)", got, tt.audit)
			}
			if got := len(h.Messages("commands")); got != 0 {
				t.Errorf("%d messages left on the queue", got)
			}
			dead := h.DeadLetters("commands")
			if !tt.dead {
				if len(dead) != 0 {
					t.Errorf("dead-lettered: %+v", dead)
				}
				return
			}
			if len(dead) != 1 || dead[0].DeadLetterReason != "MaxDeliveryCountExceeded" || dead[0].DeliveryCount != tt.maxCount ||
				!strings.Contains(dead[0].DeadLetterErrorDescription, "delivery attempts") || dead[0].LastError == "" {
				t.Fatalf("dead letters %+v", dead)
			}
			// An operator resubmits it: a fresh copy, same id, counted from zero.
			back, err := h.Resubmit("commands", sent.SequenceNumber)
			if err != nil {
				t.Fatal(err)
			}
			if back.MessageID != "m-1" || back.DeliveryCount != 0 || back.SequenceNumber == sent.SequenceNumber || back.DeadLetterReason != "" {
				t.Errorf("resubmitted %+v", back)
			}
			if len(h.DeadLetters("commands")) != 0 || len(h.Messages("commands")) != 1 {
				t.Error("resubmit did not move the message back")
			}
		})
	}
}

func TestDeliverOneOnAnEmptyQueue(t *testing.T) {
	h, fake := newTestHost(t, Options{})
	if _, err := h.DeliverOne(context.Background(), "Command"); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("err %v, want ErrNoMessage", err)
	}
	if _, err := h.DeliverOne(context.Background(), "Tick"); err == nil {
		t.Error("delivering to a timer function should fail")
	}
	if len(fake.Calls()) != 0 {
		t.Error("handler invoked")
	}
}

// TestPeekLock: concurrent deliveries get different messages.
func TestPeekLock(t *testing.T) {
	h, fake := newTestHost(t, Options{})
	for range 2 {
		if _, err := h.Send("commands", Message{Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	fake.setReply(func(w http.ResponseWriter, r *http.Request, c call) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		outputs(nil)(w, r, c)
	})
	var wg sync.WaitGroup
	seqs := make(chan int64, 2)
	for range 2 {
		wg.Go(func() {
			d, err := h.DeliverOne(context.Background(), "Command")
			if err != nil {
				t.Error(err)
				return
			}
			seqs <- d.Message.SequenceNumber
		})
	}
	<-arrived
	<-arrived // both in flight at once
	close(release)
	wg.Wait()
	close(seqs)
	if a, b := <-seqs, <-seqs; a == b {
		t.Errorf("both deliveries got message %d", a)
	}
}

func TestAutoCompleteOffNeverCompletes(t *testing.T) {
	h, _ := newTestHost(t, Options{})
	h.app.AutoComplete = false
	h.ConfigureQueue("commands", QueueOptions{MaxDeliveryCount: 2})
	if _, err := h.Send("commands", Message{Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	ds, err := h.Drain(context.Background(), "Command", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Outcome != Abandoned || ds[1].Outcome != DeadLettered {
		t.Fatalf("deliveries %+v", ds)
	}
}

func TestExpiredMessagesAreNotDelivered(t *testing.T) {
	now := testNow
	h, fake := newTestHost(t, Options{Now: func() time.Time { return now }})
	h.ConfigureQueue("commands", QueueOptions{TimeToLive: time.Minute, DeadLetterOnExpiration: true})
	if _, err := h.Send("commands", Message{Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := h.DeliverOne(context.Background(), "Command"); !errors.Is(err, ErrNoMessage) {
		t.Fatalf("err %v, want ErrNoMessage", err)
	}
	if dead := h.DeadLetters("commands"); len(dead) != 1 || dead[0].DeadLetterReason != "TTLExpiredException" {
		t.Errorf("dead letters %+v", dead)
	}
	if len(fake.Calls()) != 0 {
		t.Error("expired message delivered")
	}
}

func replies(r ...func(http.ResponseWriter, *http.Request, call)) []func(http.ResponseWriter, *http.Request, call) {
	return r
}

func outcomes(o ...Outcome) []Outcome { return o }
