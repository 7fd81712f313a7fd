package handlers

import "integration-dr/config"

// Binding is one binding as a function.json must declare it for this handler: the
// name it decodes from the invocation's Data (in) or writes to the reply's Outputs
// (out), and what the host needs to wire it. infra/infra_test.go holds every
// functions/<Name>/function.json, and the deployment, to this description.
type Binding struct {
	Name      string // the key in Data (in) or Outputs (out)
	Type      string // timerTrigger, httpTrigger, http, serviceBusTrigger, serviceBus
	Direction string // in or out
	// Setting is the app setting a timer's schedule or a Service Bus queue name comes
	// from, written %Setting% in function.json.
	Setting string
	// Connection is a Service Bus binding's connection, the prefix of its settings.
	Connection string
	// Route, Methods and AuthLevel are an HTTP trigger's: the path under /api, the
	// verbs, and the key it wants.
	Route     string
	Methods   []string
	AuthLevel string
}

// Function is one function: its folder under functions/, which is also the path the
// host posts to, and its bindings.
type Function struct {
	Name     string
	Bindings []Binding
}

// Binding names not shared with commands.go.
const bindTimer = "timer" // every timer trigger's; replicate reads Data["timer"]

// Functions describes every function this handler serves.
func Functions() []Function {
	timer := func(schedule string) Binding {
		return Binding{Name: bindTimer, Type: "timerTrigger", Direction: "in", Setting: schedule}
	}
	httpIn := func(method, route string) Binding {
		return Binding{Name: bindRequest, Type: "httpTrigger", Direction: "in", Route: route, Methods: []string{method}, AuthLevel: "function"}
	}
	httpOut := Binding{Name: bindReply, Type: "http", Direction: "out"}
	queue := func(typ, direction string) Binding {
		return Binding{Name: bindCommand, Type: typ, Direction: direction, Setting: config.EnvCommandQueue, Connection: config.ServiceBusConnection()}
	}
	return []Function{
		{Name: FnReplicateSessions, Bindings: []Binding{timer(config.EnvReplicationSchedule)}},
		{Name: FnStatus, Bindings: []Binding{httpIn("get", "status"), httpOut}},
		{Name: FnRunCommand, Bindings: []Binding{queue("serviceBusTrigger", "in")}},
		{Name: FnAlertIntake, Bindings: []Binding{httpIn("post", "alert"), httpOut, queue("serviceBus", "out")}},
		{Name: FnAdvanceOperations, Bindings: []Binding{timer(config.EnvOperationsSchedule)}},
		{Name: FnReconcileSSIS, Bindings: []Binding{timer(config.EnvSSISSchedule)}},
	}
}
