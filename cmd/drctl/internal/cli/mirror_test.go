package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/drift"
	"integration-dr/handlers"
	"integration-dr/journal/journaltest"
	"integration-dr/mirror"
	"integration-dr/mirror/mirrortest"
	"integration-dr/view"
)

// mirrorWorld is drctl with an app whose mirror runs on in-memory sides: the pair
// contoso-b2b's primary is active.
type mirrorWorld struct {
	f                  *Factory
	primary, secondary *mirrortest.Side
}

func art(k drift.Kind, name string, fields ...string) drift.Artifact {
	a := drift.Artifact{Kind: k, Name: name, Fields: map[string]string{}, Body: []byte(`{}`)}
	for i := 0; i+1 < len(fields); i += 2 {
		a.Fields[fields[i]] = fields[i+1]
	}
	return a
}

func newMirrorWorld(t *testing.T, allow ...drift.Allow) *mirrorWorld {
	t.Helper()
	w := &mirrorWorld{
		primary: mirrortest.NewSide(
			art(drift.Partner, "Contoso", "qualifier", "ZZ"), art(drift.Partner, "Fabrikam", "qualifier", "ZZ"),
			art(drift.Map, "OrdersToSAP", "content", "sha256:2"), art(drift.Agreement, "Contoso-Fabrikam-X12", "protocol", "X12"),
		),
		secondary: mirrortest.NewSide(
			art(drift.Partner, "Contoso", "qualifier", "ZZ"), art(drift.Partner, "Fabrikam", "qualifier", "01"),
			art(drift.Schema, "local-test", "content", "sha256:9"),
		),
	}
	jr := journaltest.New()
	r := &mirror.Runner{
		Journal: jr, Plans: journaltest.New(), Regions: mirrortest.NewRegions(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pairs: map[string]mirror.Pair{"contoso-b2b": {
			Name:      "contoso-b2b",
			Primary:   mirror.Side{{Name: "integration account", Kinds: drift.Kinds[:], Source: w.primary}},
			Secondary: mirror.Side{{Name: "integration account", Kinds: drift.Kinds[:], Source: w.secondary}},
			Allow:     allow,
		}},
	}
	env := offlineEnv()
	w.f = testFactory(func(k string) string { return env[k] })
	w.f.app = &app.App{Mirror: r, Mirrors: jr, Operations: handlers.ByPair{r}}
	return w
}

func (w *mirrorWorld) drctl(args ...string) result {
	w.f.IO.Out.(interface{ Reset() }).Reset()
	w.f.IO.Err.(interface{ Reset() }).Reset()
	return runDrctl(context.Background(), w.f, args...)
}

func TestDriftListsEveryDifferenceAndExits3UnlessAllowed(t *testing.T) {
	w := newMirrorWorld(t)
	r := w.drctl("drift", "--pair", "contoso-b2b")
	if r.code != ExitNotReady {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	golden(t, "drift", r.out)
	oneErrorLine(t, r, "contoso-b2b: not ready: 4 differences not on the allow-list")
	r = w.drctl("drift", "--pair", "contoso-b2b", "--json")
	v := checkSchema[view.Drift](t, "drift --json", r.out)
	if r.code != ExitNotReady || v.State != view.DriftNotReady || v.Blocking != 4 || len(v.Differences) != 4 {
		t.Errorf("drift --json: exit %d, %+v", r.code, v)
	}

	w = newMirrorWorld(t, drift.Allow{Kind: drift.Partner, Name: "Fabrikam"}, drift.Allow{Kind: drift.Schema, Name: "local-*"},
		drift.Allow{Kind: drift.Map, Name: "*"}, drift.Allow{Kind: drift.Agreement, Name: "*"})
	if r := w.drctl("drift", "--pair", "contoso-b2b"); r.code != ExitOK || !strings.Contains(r.out, "READY") {
		t.Errorf("every difference allowed: exit %d\n%s", r.code, r)
	}

	w = newMirrorWorld(t)
	w.secondary.ListErr = context.DeadlineExceeded
	r = w.drctl("drift", "--pair", "contoso-b2b", "--json")
	if v := checkSchema[view.Drift](t, "drift --json", r.out); r.code != ExitFailed || v.State != view.DriftNotCompared || v.Ready {
		t.Errorf("a standby that does not answer: exit %d, %+v", r.code, v)
	}
}

func TestMirrorDryRunListsEveryChangeThenTheMirrorMakesThem(t *testing.T) {
	w := newMirrorWorld(t)
	r := w.drctl("mirror", "--pair", "contoso-b2b", "--dry-run", "--prune", "--direct", "--id", "dry-1")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r)
	}
	golden(t, "mirror_dry_run", r.out)
	if n := len(w.secondary.Writes()); n != 0 {
		t.Fatalf("a dry run wrote %d times", n)
	}
	r = w.drctl("mirror", "--pair", "contoso-b2b", "--direct", "--json", "--id", "m-1")
	m := checkSchema[view.Mirror](t, "mirror --json", r.out)
	if r.code != ExitOK || m.Operation.Status != "succeeded" || m.Plan == nil || len(m.Plan.Changes) != 3 || len(m.Plan.Kept) != 1 {
		t.Fatalf("mirror --json: exit %d %+v", r.code, m)
	}
	if got := w.secondary.Creations(); got["map/OrdersToSAP"] != 1 || got["agreement/Contoso-Fabrikam-X12"] != 1 || len(w.primary.Writes()) != 0 {
		t.Errorf("creations %v", got)
	}
	// Sent again with the same id, it is the same operation: nothing is written twice.
	if r := w.drctl("mirror", "--pair", "contoso-b2b", "--direct", "--id", "m-1"); r.code != ExitOK || len(w.secondary.Writes()) != 3 {
		t.Errorf("the same id again: exit %d, %d writes\n%s", r.code, len(w.secondary.Writes()), r)
	}
	if r := w.drctl("drift", "--pair", "contoso-b2b"); r.code != ExitNotReady || !strings.Contains(r.out, "local-test") {
		t.Errorf("after the mirror only the standby's own schema differs: exit %d\n%s", r.code, r)
	}
}

func TestMirrorFlags(t *testing.T) {
	var got *operateOptions
	root := rootCapturing("mirror", func(_ context.Context, o *operateOptions) error { got = o; return nil })
	root.SetArgs([]string{"mirror", "--pair", "p", "--prune", "--dry-run", "--direct", "--wait", "--json"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Action != command.Mirror || !got.Prune || !got.DryRun || !got.Direct || !got.Wait || !got.JSON {
		t.Errorf("options %+v", got)
	}
	env := offlineEnv()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mirror", "--pair", "contoso-b2b", "--force"}, "unknown flag: --force"},
		{[]string{"mirror"}, "drctl mirror needs --pair"},
		{[]string{"drift", "--pair", "nope"}, `unknown pair "nope"`},
	} {
		r := offline(env, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
	}
}
