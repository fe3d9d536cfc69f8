package telemetry

import (
	"net/url"
	"strconv"

	"github.com/switchyard/switchyard/internal/provider"
)

// Attribute keys. The gen_ai.*, server.*, error.type and http.* keys follow the
// OpenTelemetry semantic conventions (GenAI conventions as of semconv v1.37–v1.41, still
// in development upstream); switchyard.* keys are the gateway's own.
const (
	KeyOperation      = "gen_ai.operation.name"
	KeyProvider       = "gen_ai.provider.name"
	KeyRequestModel   = "gen_ai.request.model"
	KeyResponseModel  = "gen_ai.response.model"
	KeyResponseID     = "gen_ai.response.id"
	KeyFinishReasons  = "gen_ai.response.finish_reasons"
	KeyInputTokens    = "gen_ai.usage.input_tokens"
	KeyOutputTokens   = "gen_ai.usage.output_tokens"
	KeyCacheRead      = "gen_ai.usage.cache_read.input_tokens"
	KeyCacheWrite     = "gen_ai.usage.cache_write.input_tokens"
	KeyReasoning      = "gen_ai.usage.reasoning.output_tokens"
	KeyMaxTokens      = "gen_ai.request.max_tokens"
	KeyTemperature    = "gen_ai.request.temperature"
	KeyTopP           = "gen_ai.request.top_p"
	KeyStream         = "gen_ai.request.stream"
	KeyTokenType      = "gen_ai.token.type"
	KeyInputMessages  = "gen_ai.input.messages"
	KeyOutputMessages = "gen_ai.output.messages"
	KeyServerAddress  = "server.address"
	KeyServerPort     = "server.port"
	KeyErrorType      = "error.type"
	KeyHTTPStatus     = "http.response.status_code"

	KeyRequestID        = "switchyard.request.id"
	KeyFeature          = "switchyard.feature"
	KeyTeam             = "switchyard.team"
	KeyKey              = "switchyard.key"
	KeyUser             = "switchyard.user"
	KeyRoute            = "switchyard.route"
	KeyPolicyVersion    = "switchyard.policy.version"
	KeyPromptID         = "switchyard.prompt.id"
	KeyPromptVersion    = "switchyard.prompt.version"
	KeyCacheOutcome     = "switchyard.cache.outcome"
	KeyCost             = "switchyard.cost.pico_usd"
	KeySavings          = "switchyard.savings.pico_usd"
	KeyCounterfactual   = "switchyard.counterfactual.pico_usd"
	KeyUnpriced         = "switchyard.unpriced"
	KeyPriceVersion     = "switchyard.price.version"
	KeyRetryCount       = "switchyard.retry.count"
	KeyFallbackCount    = "switchyard.fallback.count"
	KeyDeployment       = "switchyard.deployment"
	KeyProviderConfig   = "switchyard.provider"
	KeyAttempt          = "switchyard.attempt"
	KeyUsageSource      = "switchyard.usage.source"
	KeyContentTruncated = "switchyard.content.truncated"
	KeyCircuitState     = "switchyard.circuit.state"
)

// GenAI operation names (gen_ai.operation.name).
const (
	OpChat           = "chat"
	OpTextCompletion = "text_completion"
	OpEmbeddings     = "embeddings"
)

// Child span names under a request span.
const (
	SpanPolicy   = "switchyard.policy.resolve"
	SpanPrompt   = "switchyard.prompt.resolve"
	SpanCache    = "switchyard.cache.lookup"
	SpanCoalesce = "switchyard.coalesce.wait"
	SpanLedger   = "switchyard.ledger.write"
)

// otherValue is what a high-cardinality attribute becomes when its value is not to be
// trusted (semconv's well-known fallback value).
const otherValue = "_OTHER"

// Operation returns the GenAI operation name for a proxied OpenAI operation, "" for
// operations that are not GenAI calls (model listing).
func Operation(op provider.Op) string {
	switch op {
	case provider.OpChat:
		return OpChat
	case provider.OpCompletion:
		return OpTextCompletion
	case provider.OpEmbedding:
		return OpEmbeddings
	}
	return ""
}

// ProviderName returns gen_ai.provider.name for a provider kind (provider.Config.Kind):
// the semantic conventions' well-known value where there is one, else the kind itself.
func ProviderName(kind string) string {
	switch kind {
	case "", "openai":
		return "openai"
	case "azure":
		return "azure.ai.openai"
	case "anthropic":
		return "anthropic"
	case "mock":
		return "switchyard.mock"
	}
	return kind
}

// ServerAddress returns server.address and server.port for an upstream base URL, with
// the scheme's default port when the URL names none. Call it once per upstream, not per
// request.
func ServerAddress(baseURL string) (host string, port int) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", 0
	}
	host = u.Hostname()
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	} else if u.Scheme == "https" {
		port = 443
	} else if u.Scheme == "http" {
		port = 80
	}
	return host, port
}
