package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"os"

	"integration-dr/azure/auth"
	"integration-dr/azure/logic"
	"integration-dr/azure/tables"
	"integration-dr/config"
	"integration-dr/dev/localstack"
)

// accounts opens the named integration accounts of a resource group on the stand-in
// through the armlogic adapter, sharing one credential and up to conns connections.
func accounts(armURL, group string, conns int, names ...string) ([]*logic.Account, error) {
	cred, armOpts, err := armClient(armURL, conns)
	if err != nil {
		return nil, err
	}
	out := make([]*logic.Account, len(names))
	for i, name := range names {
		if out[i], err = logic.New(localstack.AccountID(group, name), cred, armOpts, 1000); err != nil {
			return nil, fmt.Errorf("account %s: %w", name, err)
		}
	}
	return out, nil
}

// pairEnv is the handler's settings for one pair of accounts on the stand-in.
func pairEnv(az *localstack.Azurite, armURL, pair, group, primary, secondary string) map[string]string {
	topo, _ := json.Marshal(map[string]any{"pairs": []map[string]any{{"name": pair,
		"primary": localstack.AccountID(group, primary), "secondary": localstack.AccountID(group, secondary)}}})
	return map[string]string{
		"AzureWebJobsStorage": az.ConnectionString(), "DR_TOPOLOGY": string(topo),
		"DR_ARM_ENDPOINT": armURL, "DR_CREDENTIAL": config.CredentialLocal,
	}
}

// startHandler starts the handler binary with env, its output in logPath; stop kills
// it and closes the log.
func startHandler(ctx context.Context, bin string, env map[string]string, logPath string) (*localstack.Handler, func(), error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	h, err := localstack.StartHandler(ctx, bin, env, logf)
	if err != nil {
		_ = logf.Close() // the start's error is the one to report
		return nil, nil, err
	}
	// The log is for reading after a failure; losing its tail changes no figure.
	return h, func() { h.Kill(); _ = logf.Close() }, nil
}

// armClient is the credential and client options for the stand-in.
func armClient(armURL string, conns int) (azcore.TokenCredential, *arm.ClientOptions, error) {
	return auth.ARM(config.Azure{ARMEndpoint: armURL, Credential: config.CredentialLocal}, conns)
}

// state opens the checkpoints and the journal on Azurite.
func state(ctx context.Context, az *localstack.Azurite) (*tables.Store, *tables.Journal, error) {
	svc, err := tables.NewServiceClient(az.ConnectionString(), "", nil, nil)
	if err != nil {
		return nil, nil, err
	}
	store, err := tables.Open(ctx, svc, "drstate")
	if err != nil {
		return nil, nil, err
	}
	jrnl, err := tables.OpenJournal(ctx, svc, "drstate")
	return store, jrnl, err
}
