package datafactory

import "time"

// SetTriggerWait shortens SetTrigger's wait between looks, for tests.
func SetTriggerWait(f *Factory, d time.Duration) { f.triggerWait = d }

// SetPipelinesTriggerWait shortens Stop's wait between looks, for tests.
func SetPipelinesTriggerWait(p *Pipelines, d time.Duration) { p.triggerWait = d }
