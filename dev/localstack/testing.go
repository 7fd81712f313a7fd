package localstack

import (
	"context"
	"os"
	"testing"
)

// AzuriteForTest starts Azurite for one test and stops it when the test ends. Outside
// CI it skips, saying why, when Azurite is not installed; in CI (CI set) it fails.
func AzuriteForTest(tb testing.TB) *Azurite {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs Azurite: skipped in -short mode")
	}
	az, err := StartAzurite(context.Background(), tb.TempDir())
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("Azurite is required in CI: %v", err)
		}
		tb.Skipf("Azurite unavailable (run `npm ci`): %v", err)
	}
	tb.Cleanup(az.Stop)
	return az
}
