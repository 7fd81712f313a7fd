// Package auth builds the credential and client options every Azure SDK client
// of the app shares: which cloud endpoint, which identity, and how to retry.
package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"integration-dr/config"
)

// Retry is azcore's retry policy as the app uses it: 408, 429 and 5xx are retried
// with backoff and jitter, honouring Retry-After up to MaxRetryDelay. A 429 that
// outlasts it reaches the engine, which ends the run and resumes next tick.
func Retry() policy.RetryOptions {
	// TryTimeout: a call that hangs is abandoned and retried rather than holding a
	// worker until the run's lease runs out.
	return policy.RetryOptions{MaxRetries: 4, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 20 * time.Second, TryTimeout: 30 * time.Second}
}

// Transport keeps up to conns connections per host open for reuse. azcore's default
// keeps 10, so parallel workers beyond that would open and close a connection (and a
// TLS handshake) per call.
func Transport(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * conns
	t.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: t}
}

// ARM returns the credential and ARM client options for cfg, for up to conns calls at
// once.
func ARM(cfg config.Azure, conns int) (azcore.TokenCredential, *arm.ClientOptions, error) {
	opts := &arm.ClientOptions{ClientOptions: policy.ClientOptions{Retry: Retry(), Transport: Transport(conns)}}
	Policies(&opts.ClientOptions)
	if cfg.ARMEndpoint != "https://management.azure.com" {
		opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: cfg.ARMEndpoint, Audience: "https://management.core.windows.net/"},
			},
		}
		// azcore refuses to send a bearer token over plain http unless told; config
		// allows http for a loopback endpoint only.
		opts.InsecureAllowCredentialWithHTTP = cfg.IsLoopback()
	}
	cred, err := Credential(cfg)
	return cred, opts, err
}

// Credential returns the identity the app authenticates as.
func Credential(cfg config.Azure) (azcore.TokenCredential, error) {
	switch cfg.Credential {
	case config.CredentialLocal:
		if !cfg.IsLoopback() {
			return nil, fmt.Errorf("%s is allowed only against a loopback endpoint", config.CredentialLocal)
		}
		return staticToken{}, nil
	case config.CredentialManagedIdentity:
		var o azidentity.ManagedIdentityCredentialOptions
		if cfg.ClientID != "" {
			o.ID = azidentity.ClientID(cfg.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(&o)
	default:
		return azidentity.NewDefaultAzureCredential(nil)
	}
}

// staticToken is the local credential: a fixed, meaningless token for the stand-in.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "local-stand-in", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
