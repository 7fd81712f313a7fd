// Package infra holds the deployment (bicep/: main.bicep, its modules and
// main.bicepparam) and the test that keeps it, azure.yaml, the Makefile's package and
// deploy targets, the bindings (functions/*/function.json, host.json) and
// local.settings.json.example in agreement with the code: config.Settings(),
// handlers.Functions() and the ARM calls of the adapters. It has no code of its own;
// see infra_test.go.
package infra
