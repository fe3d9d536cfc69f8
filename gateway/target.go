package gateway

import (
	"log/slog"

	"github.com/switchyard/switchyard/internal/apierr"
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
	log    *slog.Logger
	// nativeResponses: the provider serves the Responses API itself (responses_api).
	nativeResponses bool
}

// logUpstreamAuth logs what a provider said when it refused the gateway's credential,
// with keys redacted; the client only learns which provider refused.
func logUpstreamAuth(t *target, e *apierr.Error) {
	t.log.Warn("upstream refused the gateway's credential", "provider", t.name, "upstream_message", e.Upstream)
}
