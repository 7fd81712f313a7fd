package sqlfg

// The verbs a resume token records (see azure/lro).
const (
	verbPlanned = "planned"
	verbForce   = "force"
)
