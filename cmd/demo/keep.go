package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
)

// defaultSettingsDir holds the local stack's settings while `make demo-up` keeps it
// running, for drctl to read (git-ignored); -settings-dir puts them elsewhere.
const defaultSettingsDir = ".demo"

// keptReadinessEvery is how often the kept stack's operations timer keeps a readiness
// report: the demo's cadence, not the hourly default, so that the Status page shows a
// fresh one.
const keptReadinessEvery = "30s"

// drctlLines are the drctl commands to try against the local stack. drctl is built
// with the standin tag so that its SSISDB statements go to the stack's in-memory SSISDB.
// Every sending line has --direct: the stack has no Service Bus to queue commands on.
func drctlLines(settingsDir string) []string {
	drctl := "go run -tags standin ./cmd/drctl --settings " + filepath.Join(settingsDir, "local.settings.json")
	return []string{
		drctl + " status",
		drctl + " readiness --pair " + localstack.PairName,
		drctl + " plan failover --pair " + localstack.PairName,
		drctl + " journal --pair " + localstack.SSISPairName,
		drctl + " failover --pair " + localstack.PairName + " --reason drill --direct --wait",
		drctl + " fallback --pair " + localstack.PairName + " --reason drill --direct --wait",
		drctl + " ssis-failover --pair " + localstack.SSISPairName + " --direct --wait",
		drctl + " checkpoint show --pair " + localstack.PairName,
	}
}

// offerDrctl prints the drctl lines; with keep, it keeps the stack running until ctx
// ends (Ctrl-C, SIGTERM): it writes the stack's settings where those lines read them,
// runs the function app's timers on their schedules, as the host would, and serves
// the Status page on loopback.
func offerDrctl(ctx context.Context, keep bool, settingsDir string, env map[string]string, handlerURL string, out io.Writer) error {
	if !keep {
		fmt.Fprintf(out, "\nTo try drctl on this stack, run `make demo-up`: it keeps the stack running after the demo. Then:\n")
		for _, l := range drctlLines(settingsDir) {
			fmt.Fprintf(out, "  %s\n", l)
		}
		return nil
	}
	root, err := localstack.ProjectRoot()
	if err != nil {
		return err
	}
	dir := settingsDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// The stack's settings, as the handler got them: Azurite's well-known development
	// key and loopback endpoints, nothing of Azure's.
	raw, _ := json.MarshalIndent(map[string]any{"IsEncrypted": false, "Values": env}, "", "  ")
	path := filepath.Join(dir, "local.settings.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return err
	}
	defer os.Remove(path)

	app, err := hostsim.Load(filepath.Join(root, "functions"), env)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // loopback only: the page has no key here
	if err != nil {
		return fmt.Errorf("status page: %w", err)
	}
	pageURL := "http://" + ln.Addr().String()
	host := hostsim.New(app, handlerURL, hostsim.Options{PublicURL: pageURL})
	// GET /api/status, as the function app's address would serve it: a page for a
	// browser, JSON otherwise.
	srv := &http.Server{Handler: host.Handler(handlers.FnStatus), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	timers := make(chan struct{})
	failing := &timerFailures{out: out, failing: map[string]bool{}}
	go func() {
		defer close(timers)
		host.RunTimers(ctx, failing.note)
	}()

	fmt.Fprintf(out, "\nThe stack stays up, its timers running as the host would run them (%s).\n", schedules(app))
	fmt.Fprintf(out, "Status page: %s/api/status (open it in a browser; JSON with Accept: application/json)\n", pageURL)
	fmt.Fprintf(out, "Its settings are in %s; try, from the project folder:\n", filepath.Join(settingsDir, "local.settings.json"))
	for _, l := range drctlLines(settingsDir) {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintf(out, "The stack has no Service Bus: commands run with --direct (see docs/direct-mode.md).\n")
	fmt.Fprintf(out, "Stop it with Ctrl-C, or kill -TERM %d: the timers, the handler and Azurite stop and the stack's files are removed.\n", os.Getpid())

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-timers // an invocation under way finishes before the handler is stopped
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	fmt.Fprintln(out, "\nstopping the stack…")
	return err
}

// schedules names each timer function with its schedule.
func schedules(app *hostsim.App) string {
	s := ""
	for _, name := range app.Names() {
		f := app.Functions[name]
		if f.Trigger != hostsim.TimerTrigger || f.Disabled {
			continue
		}
		if s != "" {
			s += ", "
		}
		s += name + " " + f.Schedule
	}
	return s
}

// timerFailures says when a timer function starts failing and when it recovers, once
// each: the host drops a failed invocation's logs, and a line per tick would bury the
// drctl lines.
type timerFailures struct {
	out     io.Writer
	mu      sync.Mutex
	failing map[string]bool
}

func (t *timerFailures) note(r hostsim.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !r.Success && !t.failing[r.Function]:
		t.failing[r.Function] = true
		fmt.Fprintf(t.out, "timer %s failed: %v (drctl status shows the state; said again only once it recovers)\n", r.Function, r.Err)
	case r.Success && t.failing[r.Function]:
		t.failing[r.Function] = false
		fmt.Fprintf(t.out, "timer %s runs again\n", r.Function)
	}
}
