package datafactory

// The verbs a resume token records (see azure/lro).
const (
	verbStart = "start"
	verbStop  = "stop"
)
