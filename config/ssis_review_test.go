package config

import "testing"

// Review test: the two sides of an SSIS pair may name the same data factory and
// runtime (a copy-pasted side block) and start-up accepts it, although each side's
// failover group must differ. Such a pair stops, every tick, the runtime and
// triggers it has just started: the standby's "stop" hits the serving side's own
// runtime and triggers.
func TestReviewSSISSidesMustNotShareTheirFactoryAndRuntime(t *testing.T) {
	top := ssisTopology("contoso-ssis", "stopped",
		ssisSide(fgWEU, adfWEU, `,"triggers":["nightly"]`),
		ssisSide(fgNEU, adfWEU, `,"triggers":["nightly"]`))
	c, err := Load(env(map[string]string{EnvTopology: top}))
	if err == nil {
		p := c.SSISPairs[0]
		t.Fatalf("a pair whose sides share factory %s and runtime %q was accepted", p.Secondary.DataFactory, p.Secondary.IntegrationRuntime)
	}
}
