package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"integration-dr/app"
	"integration-dr/azure/auth"
	"integration-dr/azure/servicebus"
	"integration-dr/command"
	"integration-dr/config"
)

// Factory holds what commands need from the process, each replaceable in tests: the
// streams, the environment, the clock, and how to reach the queue. Commands take what
// they use into their options as functions, so that parsing never touches Azure.
type Factory struct {
	IO     *IOStreams
	Getenv func(string) string
	Now    func() time.Time
	// User names who asks, for a command's requestedBy.
	User     func() string
	ReadFile func(string) ([]byte, error)
	// Sender and DeadLetters open the command queue (azure/servicebus by default).
	Sender      func(ctx context.Context, s *Settings) (commandSender, func(), error)
	DeadLetters func(ctx context.Context, s *Settings) (deadLetterQueue, func(), error)
	// PollEvery is how often --wait reads the journal (and, with --direct, advances
	// waiting plans).
	PollEvery time.Duration
	// DriveEvery is how often --direct --wait runs the replication pass a waiting
	// plan needs (the function app's timer would).
	DriveEvery time.Duration

	flags    globalFlags
	settings *Settings
	app      *app.App
	// readOnly: the command running only reads (readOnlyCommands): the app is built
	// without creating tables.
	readOnly bool
}

// readOnlyCommands only read the app's state: they build it without creating
// anything, so that Storage Table Data Reader is enough to run them
// (docs/direct-mode.md lists the roles each command needs).
var readOnlyCommands = map[string]bool{
	"drctl status": true, "drctl journal": true, "drctl readiness": true,
	"drctl checkpoint show": true, "drctl dlq list": true,
}

// NewFactory is the factory of the real process.
func NewFactory() *Factory {
	return &Factory{
		IO: System(), Getenv: os.Getenv, Now: time.Now, User: currentUser, ReadFile: os.ReadFile,
		Sender: openSender, DeadLetters: openDeadLetters, PollEvery: time.Second, DriveEvery: 5 * time.Second,
	}
}

// commandSender posts a command to the queue; azure/servicebus.Sender is one.
type commandSender interface {
	Send(ctx context.Context, c command.Command) error
}

// deadLetterQueue lists and resubmits dead-lettered commands; azure/servicebus's
// DeadLetters is one.
type deadLetterQueue interface {
	List(ctx context.Context, limit int) ([]servicebus.DeadLetter, error)
	Resubmit(ctx context.Context, seq int64) (servicebus.DeadLetter, error)
}

// Settings are the app's settings as drctl found them.
type Settings struct {
	// Getenv looks a setting up: flags first, then a file named by --settings, then
	// the environment, then the default file (see layered).
	Getenv func(string) string
	Config config.Config
	// File is the settings file that was read ("" if none).
	File string
}

// PairKind is what kind of pair a name is.
type PairKind int

// The kinds of pair.
const (
	NoPair PairKind = iota
	IntegrationPair
	SSISPair
)

// Kind says what kind of pair name is (exactly as configured).
func (s *Settings) Kind(name string) PairKind {
	for _, p := range s.Config.Pairs {
		if p.Name == name {
			return IntegrationPair
		}
	}
	for _, p := range s.Config.SSISPairs {
		if p.Name == name {
			return SSISPair
		}
	}
	return NoPair
}

// Names are every configured pair's name, integration-account pairs first.
func (s *Settings) Names() []string {
	var out []string
	for _, p := range s.Config.Pairs {
		out = append(out, p.Name)
	}
	for _, p := range s.Config.SSISPairs {
		out = append(out, p.Name)
	}
	return out
}

// CheckPair refuses a pair that is not configured, or not of a kind in want (none:
// any), naming the ones there are.
func (s *Settings) CheckPair(name string, want ...PairKind) error {
	kind := s.Kind(name)
	if kind == NoPair {
		for _, n := range s.Names() {
			if strings.EqualFold(n, name) {
				return usagef("unknown pair %q (pair names are case-sensitive: did you mean %s?)", name, n)
			}
		}
		return usagef("unknown pair %q: the configured pairs are %s", name, strings.Join(s.Names(), ", "))
	}
	if len(want) > 0 && !slices.Contains(want, kind) {
		if kind == SSISPair {
			return usagef("%s is an SSIS pair: this command is for integration-account pairs", name)
		}
		return usagef("%s is an integration-account pair: this command is for SSIS pairs", name)
	}
	return nil
}

// Settings reads the settings once: the file, the environment and the flags, validated
// as the app validates them at start-up.
func (f *Factory) Settings() (*Settings, error) {
	if f.settings != nil {
		return f.settings, nil
	}
	path, explicit := f.flags.settings, f.flags.settings != ""
	if !explicit {
		path = DefaultSettingsFile
	}
	file, err := readSettingsFile(f.ReadFile, path, explicit)
	if err != nil {
		return nil, err
	}
	flags, err := flagValues(f.ReadFile, f.flags.values)
	if err != nil {
		return nil, err
	}
	s := &Settings{Getenv: layered(func(k string) string { return flags[k] }, f.Getenv, file, explicit)}
	if file != nil {
		s.File = path
	}
	cfg, err := config.Load(s.Getenv)
	if err != nil {
		where := "environment and flags"
		if s.File != "" {
			where = s.File + ", environment and flags"
		}
		return nil, usagef("settings (%s): %w", where, err)
	}
	s.Config = cfg
	f.settings = s
	return s, nil
}

// App builds the app from the settings once, as the handler builds it: the same
// journal, lock and runners, so that --direct runs what RunCommand would.
func (f *Factory) App(ctx context.Context) (*app.App, error) {
	if f.app != nil {
		return f.app, nil
	}
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	logs := io.Discard
	if f.flags.verbose {
		logs = f.IO.Err
	}
	done := f.slowNotice("opening Table Storage and building the app…")
	build := app.Build
	if f.readOnly {
		build = app.BuildReadOnly
	}
	a, err := build(ctx, s.Config, s.Getenv, slog.New(slog.NewJSONHandler(logs, nil)))
	done()
	if err != nil {
		return nil, exitf(ExitFailed, "%w", err)
	}
	f.app = a
	return a, nil
}

// slowNotice tells an operator at a terminal what drctl waits for when it takes more
// than a second; elsewhere it says nothing. The returned func ends the wait.
func (f *Factory) slowNotice(what string) func() {
	if !f.IO.ErrTTY {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-stop:
		case <-time.After(time.Second):
			fmt.Fprint(f.IO.Err, what)
			<-stop
			fmt.Fprint(f.IO.Err, "\r\033[K")
		}
	}()
	return func() { close(stop); <-done }
}

// newID is a fresh command id: what and when, for a reader of the journal, and random
// bits, so that two operators never pick the same one.
func (f *Factory) newID(what string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s-%s", what, f.Now().UTC().Format("20060102-150405"), hex.EncodeToString(b))
}

func currentUser() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "operator"
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		name += "@" + host
	}
	return name + " (drctl)"
}

// queueConfig reads how to reach the command queue, or says what is missing.
func queueConfig(s *Settings) (servicebus.Config, error) {
	cfg := servicebus.Config{
		Namespace:        strings.TrimSpace(s.Getenv(config.EnvServiceBusNS)),
		ConnectionString: strings.TrimSpace(s.Getenv(EnvServiceBusConnectionString)),
		Queue:            strings.TrimSpace(s.Getenv(config.EnvCommandQueue)),
	}
	if strings.ContainsAny(cfg.Namespace, "<>") {
		// The example settings' placeholder, copied as it is.
		return cfg, fmt.Errorf("%s is the placeholder %q", config.EnvServiceBusNS, cfg.Namespace)
	}
	if cfg.Namespace == "" && cfg.ConnectionString == "" {
		return cfg, fmt.Errorf("no Service Bus configured (%s or %s)", config.EnvServiceBusNS, EnvServiceBusConnectionString)
	}
	if cfg.Queue == "" {
		return cfg, fmt.Errorf("no command queue configured (%s)", config.EnvCommandQueue)
	}
	if cfg.ConnectionString == "" {
		cred, err := auth.Credential(s.Config.Azure)
		if err != nil {
			return cfg, fmt.Errorf("credential for Service Bus: %w", err)
		}
		cfg.Credential = cred
	}
	return cfg, nil
}

func openClient(s *Settings) (*servicebus.Client, error) {
	cfg, err := queueConfig(s)
	if err != nil {
		return nil, err
	}
	c, err := servicebus.New(cfg)
	if errors.Is(err, servicebus.ErrNotConfigured) {
		return nil, fmt.Errorf("no Service Bus configured")
	}
	return c, err
}

func closer(c *servicebus.Client) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}

func openSender(_ context.Context, s *Settings) (commandSender, func(), error) {
	c, err := openClient(s)
	if err != nil {
		return nil, nil, err
	}
	snd, err := c.Sender()
	if err != nil {
		closer(c)()
		return nil, nil, err
	}
	return snd, closer(c), nil
}

func openDeadLetters(_ context.Context, s *Settings) (deadLetterQueue, func(), error) {
	c, err := openClient(s)
	if err != nil {
		return nil, nil, err
	}
	d, err := c.DeadLetters()
	if err != nil {
		closer(c)()
		return nil, nil, err
	}
	return d, closer(c), nil
}
