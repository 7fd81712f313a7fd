// Package servicebus is the azservicebus adapter: it posts commands to the command
// queue (DR_COMMAND_QUEUE) the way RunCommand reads them, and tends the queue's
// dead-letter sub-queue. It is the only package that imports azservicebus.
//
// Each type works through a small interface over the part of the SDK client it uses
// (MessageSender, DeadLetterReceiver), so that tests drive it with a fake: no broker
// runs on a development machine.
package servicebus

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"integration-dr/command"
	"integration-dr/drerr"
)

// ContentType is the content type of a command message: its body is the command's JSON.
const ContentType = "application/json"

// Application properties of a command message. RunCommand reads only the body; these
// are for whoever browses the queue (the portal's explorer, a subscription filter).
const (
	PropPair        = "pair"
	PropAction      = "action"
	PropRequestedBy = "requestedBy"
	PropDryRun      = "dryRun"
)

// ErrNotConfigured says neither a namespace nor a connection string is set: there is
// no queue to talk to.
var ErrNotConfigured = errors.New("no Service Bus namespace or connection string is configured")

// Config says how to reach the command queue.
type Config struct {
	// Namespace is the fully qualified namespace (<ns>.servicebus.windows.net),
	// reached with Credential.
	Namespace  string
	Credential azcore.TokenCredential
	// ConnectionString, when set, is used instead of Namespace and Credential. It
	// holds a key: it is never echoed, not even in an error.
	ConnectionString string
	// Queue is the command queue's name.
	Queue string
}

// Client is a connection to the namespace of the command queue.
type Client struct {
	client *azservicebus.Client
	queue  string
}

// Retry keeps an operator's wait short when the namespace does not answer: three
// tries a second or two apart, not the SDK's default of four-second backoffs up to
// two minutes.
func retry() azservicebus.RetryOptions {
	return azservicebus.RetryOptions{MaxRetries: 2, RetryDelay: time.Second, MaxRetryDelay: 5 * time.Second}
}

// New connects lazily (the first send or receive opens the connection).
// ErrNotConfigured when there is neither a namespace nor a connection string.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Queue) == "" {
		return nil, drerr.Errorf(drerr.Invalid, "service bus", "no command queue is configured")
	}
	opts := &azservicebus.ClientOptions{RetryOptions: retry()}
	var c *azservicebus.Client
	var err error
	switch {
	case strings.TrimSpace(cfg.ConnectionString) != "":
		c, err = azservicebus.NewClientFromConnectionString(cfg.ConnectionString, opts)
		if err != nil {
			// The SDK's parse errors may quote the string, which holds a key.
			return nil, drerr.Errorf(drerr.Invalid, "service bus", "the connection string is not valid")
		}
	case strings.TrimSpace(cfg.Namespace) != "":
		if cfg.Credential == nil {
			return nil, drerr.Errorf(drerr.Invalid, "service bus", "no credential for namespace %s", cfg.Namespace)
		}
		if c, err = azservicebus.NewClient(cfg.Namespace, cfg.Credential, opts); err != nil {
			return nil, drerr.E(drerr.Invalid, "service bus "+cfg.Namespace, err)
		}
	default:
		return nil, ErrNotConfigured
	}
	return &Client{client: c, queue: cfg.Queue}, nil
}

// Close closes the connection; ctx bounds how long that may take.
func (c *Client) Close(ctx context.Context) error { return c.client.Close(ctx) }

// Sender returns the command queue's sender.
func (c *Client) Sender() (*Sender, error) {
	s, err := c.client.NewSender(c.queue, nil)
	if err != nil {
		return nil, wrap("open sender for queue "+c.queue, err)
	}
	return NewSender(s, c.queue), nil
}

// DeadLetters returns the dead-letter queue of the command queue, with a sender to put
// resubmitted messages back on the queue.
func (c *Client) DeadLetters() (*DeadLetters, error) {
	r, err := c.client.NewReceiverForQueue(c.queue, &azservicebus.ReceiverOptions{
		ReceiveMode: azservicebus.ReceiveModePeekLock, SubQueue: azservicebus.SubQueueDeadLetter,
	})
	if err != nil {
		return nil, wrap("open the dead-letter queue of "+c.queue, err)
	}
	s, err := c.client.NewSender(c.queue, nil)
	if err != nil {
		return nil, wrap("open sender for queue "+c.queue, err)
	}
	return NewDeadLetters(r, s, c.queue), nil
}

// MessageSender is the part of *azservicebus.Sender this package uses.
type MessageSender interface {
	SendMessage(ctx context.Context, m *azservicebus.Message, o *azservicebus.SendMessageOptions) error
}

var _ MessageSender = (*azservicebus.Sender)(nil)

// Sender posts commands to the command queue.
type Sender struct {
	sender MessageSender
	queue  string
}

// NewSender posts to queue through s.
func NewSender(s MessageSender, queue string) *Sender { return &Sender{sender: s, queue: queue} }

// Queue is the name of the queue this sender posts to.
func (s *Sender) Queue() string { return s.queue }

// Send validates c (as RunCommand will: a command it would reject is not sent) and
// posts it. Sending the same command twice is harmless: its id is the idempotency key.
func (s *Sender) Send(ctx context.Context, c command.Command) error {
	if err := c.Validate(nil); err != nil {
		return err
	}
	if err := s.sender.SendMessage(ctx, Message(c), nil); err != nil {
		return wrap("send command "+c.ID+" to queue "+s.queue, err)
	}
	return nil
}

// Message maps a command to its queue message: the body is command.Encode (what
// command.Decode reads), the message id is the command id (so the broker's and the
// journal's idempotency keys agree), the subject is the action, and the application
// properties repeat the pair, the action, who asked and whether it is a dry run.
func Message(c command.Command) *azservicebus.Message {
	id, contentType, subject := c.ID, ContentType, string(c.Action)
	return &azservicebus.Message{
		Body:        c.Encode(),
		MessageID:   &id,
		ContentType: &contentType,
		Subject:     &subject,
		ApplicationProperties: map[string]any{
			PropPair:        c.Pair,
			PropAction:      string(c.Action),
			PropRequestedBy: c.RequestedBy,
			PropDryRun:      c.DryRun,
		},
	}
}

// wrap gives an SDK error a domain code from its azservicebus.Error code, never from
// its text.
func wrap(op string, err error) error {
	var sbe *azservicebus.Error
	code := drerr.Unavailable
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = drerr.Interrupted
	case errors.As(err, &sbe) && sbe.Code == azservicebus.CodeNotFound:
		code = drerr.NotFound
	case errors.As(err, &sbe) && sbe.Code == azservicebus.CodeUnauthorizedAccess:
		code = drerr.Invalid
	case errors.As(err, &sbe) && sbe.Code == azservicebus.CodeLockLost:
		code = drerr.Conflict
	}
	return drerr.E(code, op, err)
}
