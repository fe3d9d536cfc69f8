package gateway

import (
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/upstream"
)

// target is one configured provider: its translator and its connection pool. Targets
// are built once at start; policies refer to them by name.
type target struct {
	name   string
	kind   string
	tr     provider.Translator
	client *upstream.Client
	host   string // server address and port, for telemetry
	port   int
}
