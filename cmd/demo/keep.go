package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"integration-dr/dev/localstack"
)

// settingsDir holds the local stack's settings while `make demo-up` keeps it running,
// for drctl to read (git-ignored).
const settingsDir = ".demo"

// drctlLines are the drctl commands to try against the local stack. drctl is built
// with the standin tag so that its SSISDB statements go to the stack's in-memory SSISDB.
func drctlLines() []string {
	drctl := "go run -tags standin ./cmd/drctl --settings " + filepath.Join(settingsDir, "local.settings.json")
	return []string{
		drctl + " status",
		drctl + " readiness --pair " + localstack.PairName,
		drctl + " plan failover --pair " + localstack.PairName,
		drctl + " journal --pair " + localstack.SSISPairName,
		drctl + " failover --pair " + localstack.PairName + " --reason drill --direct --wait",
		drctl + " ssis-failover --pair " + localstack.SSISPairName + " --direct --wait",
		drctl + " checkpoint show --pair " + localstack.PairName,
	}
}

// offerDrctl prints the drctl lines; with keep, it writes the stack's settings where
// those lines read them and waits until the demo is interrupted, keeping the stack up.
func offerDrctl(ctx context.Context, keep bool, env map[string]string, out io.Writer) error {
	if !keep {
		fmt.Fprintf(out, "\nTo try drctl on this stack, run `make demo-up`: it keeps the stack running after the demo. Then:\n")
		for _, l := range drctlLines() {
			fmt.Fprintf(out, "  %s\n", l)
		}
		return nil
	}
	root, err := localstack.ProjectRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, settingsDir)
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
	fmt.Fprintf(out, "\nThe stack stays up (Ctrl-C ends it). Its settings are in %s; try, from the project folder:\n", filepath.Join(settingsDir, "local.settings.json"))
	for _, l := range drctlLines() {
		fmt.Fprintf(out, "  %s\n", l)
	}
	<-ctx.Done()
	return nil
}
