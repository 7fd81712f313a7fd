//go:build tools

// Package tools pins the development tools the Makefile runs, in a module of their
// own (tools/go.mod, tools/go.sum) so that their dependencies stay out of the app's
// go.mod. `make lint` builds golangci-lint from here into bin/.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)
