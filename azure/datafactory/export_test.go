package datafactory

import "time"

// SetTriggerWait shortens SetTrigger's wait between looks, for tests.
func SetTriggerWait(f *Factory, d time.Duration) { f.triggerWait = d }
