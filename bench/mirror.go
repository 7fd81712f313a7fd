package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"time"

	"integration-dr/app"
	"integration-dr/command"
	"integration-dr/config"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/drift"
	"integration-dr/journal"
)

// mirrorBench copies a standby's missing artifacts — mostly partners, with schemas
// and maps whose content is read through their content links — through the product's
// own wiring (the app built from its settings, the mirror's runner, the armlogic
// adapter, the journal on Azurite), at ARM's real limits (time scale 1: the mirror
// writes one artifact at a time, so a compressed bucket would time the latency), and
// compares it with the least time ARM's write bucket allows that many writes.
func mirrorBench(ctx context.Context, o options, az *localstack.Azurite, arm *armstandin.Server, armURL string, res result, out *report) error {
	const group, primary, secondary, pair = "bench-mirror", "mi-weu", "mi-neu", "bench-mirror"
	n := o.mirror
	schemas := n / 10
	for i := range n {
		var err error
		switch {
		case i < schemas:
			err = arm.PutArtifact(group, primary, drift.Schema, fmt.Sprintf("Schema-%04d", i), map[string]any{
				"schemaType": "Xml", "contentType": "application/xml", "content": fmt.Sprintf(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="E%04d"/></xs:schema>`, i),
			})
		case i < 2*schemas:
			err = arm.PutMap(group, primary, fmt.Sprintf("Map-%04d", i), fmt.Sprintf(`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><!-- %d --></xsl:stylesheet>`, i))
		default:
			err = arm.PutArtifact(group, primary, drift.Partner, fmt.Sprintf("Partner-%04d", i), map[string]any{
				"partnerType": "B2B",
				"content":     map[string]any{"b2b": map[string]any{"businessIdentities": []any{map[string]any{"qualifier": "ZZ", "value": fmt.Sprintf("P%04d", i)}}}},
			})
		}
		if err != nil {
			return err
		}
	}
	const scale = 1.0
	arm.SetLimits(armstandin.ARMLimits(scale))
	defer arm.SetLimits(armstandin.ARMLimits(o.scale))
	env := pairEnv(az, armURL, pair, group, primary, secondary)
	maps.Copy(env, localstack.BudgetEnv(scale))
	env[config.EnvPort] = "1" // required of the handler; no port is opened here
	env[config.EnvTable] = "benchmirror"
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	a, err := app.Build(ctx, cfg, getenv, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	out.printf("mirror: %d artifacts only on the primary (%d schemas, %d maps, %d partners), at ARM's limits (scale %g)\n", n, schemas, schemas, n-2*schemas, scale)
	arm.Stats(true)
	t0 := time.Now()
	op, err := a.Operations.Submit(ctx, command.Command{ID: "bench-mirror", Action: command.Mirror, Pair: pair}, journal.Source{RequestedBy: "bench"}, t0)
	// A mirror left waiting (a back-off) is resumed by the operations timer, as the
	// host would run it: once a second.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for err == nil && op.Status.Open() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if _, err = a.Operations.Advance(ctx); err == nil {
			op, err = a.Mirror.Get(ctx, pair, op.ID)
		}
	}
	took := time.Since(t0)
	if err != nil {
		return err
	}
	if op.Status != journal.Succeeded {
		return fmt.Errorf("mirror ended %s: %s", op.Status, op.Error)
	}
	created := 0
	for _, c := range arm.Creations(group, secondary) {
		if c > 1 {
			return fmt.Errorf("an artifact was created %d times", c)
		}
		created += c
	}
	if created != n {
		return fmt.Errorf("%d artifacts created on the standby, want %d", created, n)
	}
	bound := localstack.WriteBound(n, scale)
	out.printf("mirror: %d created in %s; the write bucket's bound %s; %d answers of 429\n\n", created, took.Round(time.Millisecond), bound.Round(time.Millisecond), throttled(arm.Stats(true)))
	res["mirror_artifacts"] = n
	res["mirror_s"] = round(took.Seconds(), 2)
	res["mirror_bound_s"] = round(bound.Seconds(), 2)
	res["mirror_over_bound"] = round(took.Seconds()/bound.Seconds(), 3)
	return nil
}
