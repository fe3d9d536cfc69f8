package provider

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Kinds of provider, each with one translator.
const (
	KindOpenAI    = "openai"    // the OpenAI API and every OpenAI-compatible server
	KindAzure     = "azure"     // Azure OpenAI deployments
	KindAnthropic = "anthropic" // the Anthropic Messages API
	KindMock      = "mock"      // the built-in deterministic provider, served in process
)

// Values of Config.ResponsesAPI.
const (
	ResponsesNative    = "native"    // pass Responses API requests through to the provider
	ResponsesTranslate = "translate" // translate them to Chat Completions and back
)

// MockBaseURL is the base URL of the in-process mock provider; nothing is dialled for it.
const MockBaseURL = "http://switchyard-mock.internal/v1"

// Config describes one upstream provider. Secrets are never in the file: APIKeyEnv
// names the environment variable that holds the key.
type Config struct {
	// Name is how models refer to this provider. Required, unique.
	Name string `yaml:"name"`
	// Kind selects the translator: openai, azure, anthropic or mock. Default openai.
	Kind string `yaml:"kind"`
	// BaseURL is the API root, e.g. https://api.openai.com/v1, http://localhost:11434/v1,
	// https://NAME.openai.azure.com (azure) or https://api.anthropic.com (anthropic).
	// Required except for mock.
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv names the environment variable holding the upstream key. Empty sends no key.
	APIKeyEnv string `yaml:"api_key_env"`
	// AuthHeader is how the key is sent: "bearer" (Authorization: Bearer KEY, default for
	// openai), "api-key" (default for azure), "x-api-key" (default for anthropic), or any
	// other header name, which is sent with the bare key as its value.
	AuthHeader string `yaml:"auth_header"`
	// Headers are extra headers sent upstream on every request (e.g. OpenAI-Organization).
	// Values may reference the environment as ${VAR}.
	Headers map[string]string `yaml:"headers"`
	// Paths override the path appended to BaseURL per operation: keys chat, completions,
	// embeddings, models, responses. Defaults are /chat/completions, /completions,
	// /embeddings, /models, /responses. For azure, responses is the whole path after
	// BaseURL (default /openai/v1/responses, Azure's v1 API; it may carry a query such as
	// ?api-version=preview); the others follow /openai/deployments/DEPLOYMENT. For
	// anthropic, chat replaces /v1/messages, and count_tokens is that path plus
	// /count_tokens.
	Paths map[string]string `yaml:"paths"`
	// APIVersion is Azure's api-version query parameter. Default 2024-10-21.
	APIVersion string `yaml:"api_version"`
	// AnthropicVersion is the anthropic-version header. Default 2023-06-01.
	AnthropicVersion string `yaml:"anthropic_version"`
	// MaxTokensDefault is the max_tokens sent to Anthropic when the client sets none
	// (Anthropic requires it). Default 4096.
	MaxTokensDefault int `yaml:"max_tokens_default"`
	// ResponsesAPI is how Responses API requests (POST /v1/responses) reach this
	// provider: "native" passes the client's body through with only model patched, and
	// the answer back byte for byte; "translate" turns them into Chat Completions and
	// back. Default native for kind azure and for kind openai whose base URL's host is
	// api.openai.com, translate otherwise (OpenAI-compatible servers rarely implement the
	// Responses API). Kinds anthropic and mock do not speak it: native is an error there.
	ResponsesAPI string `yaml:"responses_api"`

	// key is the resolved secret; never logged, never sent to clients.
	key string
}

// Resolve applies defaults, reads the key from the environment and validates c.
func (c *Config) Resolve(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if c.Name == "" {
		return fmt.Errorf("provider: name is required")
	}
	if c.Kind == "" {
		c.Kind = KindOpenAI
	}
	switch c.Kind {
	case KindOpenAI, KindAzure, KindAnthropic, KindMock:
	default:
		return fmt.Errorf("provider %q: unknown kind %q (want openai, azure, anthropic or mock)", c.Name, c.Kind)
	}
	if c.Kind != KindMock {
		if c.BaseURL == "" {
			return fmt.Errorf("provider %q: base_url is required", c.Name)
		}
		if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
			return fmt.Errorf("provider %q: base_url must start with http:// or https://", c.Name)
		}
	}
	if c.Kind == KindMock && c.BaseURL == "" {
		c.BaseURL = MockBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.AuthHeader == "" {
		switch c.Kind {
		case KindAzure:
			c.AuthHeader = "api-key"
		case KindAnthropic:
			c.AuthHeader = "x-api-key"
		default:
			c.AuthHeader = "bearer"
		}
	}
	if c.APIVersion == "" {
		c.APIVersion = "2024-10-21"
	}
	if c.AnthropicVersion == "" {
		c.AnthropicVersion = "2023-06-01"
	}
	if c.MaxTokensDefault <= 0 {
		c.MaxTokensDefault = 4096
	}
	for k := range c.Paths {
		switch k {
		case "chat", "completions", "embeddings", "models", "responses":
		default:
			return fmt.Errorf("provider %q: unknown path key %q (want chat, completions, embeddings, models or responses)", c.Name, k)
		}
	}
	switch c.ResponsesAPI {
	case "":
		c.ResponsesAPI = c.defaultResponsesAPI()
	case ResponsesTranslate:
	case ResponsesNative:
		if c.Kind == KindAnthropic || c.Kind == KindMock {
			return fmt.Errorf("provider %q: responses_api: native needs a provider that implements the Responses API (kind openai or azure), not kind %s; use translate", c.Name, c.Kind)
		}
	default:
		return fmt.Errorf("provider %q: unknown responses_api %q (want native or translate)", c.Name, c.ResponsesAPI)
	}
	for k, v := range c.Headers {
		c.Headers[k] = os.Expand(v, getenv)
	}
	if c.APIKeyEnv != "" {
		c.key = getenv(c.APIKeyEnv)
		if c.key == "" {
			return fmt.Errorf("provider %q: environment variable %s is empty", c.Name, c.APIKeyEnv)
		}
	}
	return nil
}

// NativeResponses reports whether Responses API requests are passed through to this
// provider as they are (responses_api: native) rather than translated to Chat
// Completions. On a config that was not resolved it applies the default rule.
func (c *Config) NativeResponses() bool {
	mode := c.ResponsesAPI
	if mode == "" {
		mode = c.defaultResponsesAPI()
	}
	return mode == ResponsesNative
}

// defaultResponsesAPI is ResponsesAPI's default: native for Azure and for the OpenAI API
// itself, translate for every other server (and for kinds that do not speak it).
func (c *Config) defaultResponsesAPI() string {
	switch c.Kind {
	case KindAzure:
		return ResponsesNative
	case KindOpenAI, "":
		if u, err := url.Parse(c.BaseURL); err == nil && strings.EqualFold(u.Hostname(), "api.openai.com") {
			return ResponsesNative
		}
	}
	return ResponsesTranslate
}

// SetKey sets the upstream key directly (embedded default, tests).
func (c *Config) SetKey(k string) { c.key = k }

// path returns the path for op, honouring overrides.
func (c *Config) path(op Op) string {
	key, def := "", ""
	switch op {
	case OpChat:
		key, def = "chat", "/chat/completions"
	case OpCompletion:
		key, def = "completions", "/completions"
	case OpEmbedding:
		key, def = "embeddings", "/embeddings"
	case OpModels:
		key, def = "models", "/models"
	case OpResponses:
		key, def = "responses", "/responses"
	}
	if p, ok := c.Paths[key]; ok {
		return p
	}
	return def
}

// AuthHeaders returns the headers that authenticate the gateway to this provider (and
// its extra headers), for calls outside the translators (its files and batches API).
func (c *Config) AuthHeaders() []Header { return c.staticHeaders() }

// staticHeaders returns the headers sent on every request: the key and the extras,
// computed once so the hot path only copies them.
func (c *Config) staticHeaders() []Header {
	var hs []Header
	if c.key != "" {
		switch c.AuthHeader {
		case "bearer":
			hs = append(hs, Header{"Authorization", "Bearer " + c.key})
		default:
			hs = append(hs, Header{c.AuthHeader, c.key})
		}
	}
	for k, v := range c.Headers {
		hs = append(hs, Header{k, v})
	}
	return hs
}

// New builds the translator for a resolved config.
func New(c Config) (Translator, error) {
	switch c.Kind {
	case KindOpenAI, KindMock:
		return newOpenAI(c), nil
	case KindAzure:
		return newAzure(c), nil
	case KindAnthropic:
		return newAnthropic(c), nil
	}
	return nil, fmt.Errorf("provider %q: unknown kind %q", c.Name, c.Kind)
}
