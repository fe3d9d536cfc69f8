// Command openaigo talks to Switchyard with the official SDK, github.com/openai/openai-go:
// it lists the models, asks for a chat completion, streams one, and embeds a sentence.
// Every request carries an x-switchyard-feature header for cost attribution.
//
// Run it against a gateway on the embedded default (`make run` in another terminal):
//
//	cd examples/go && go run ./openaigo
//
// SWITCHYARD_BASE_URL (default http://127.0.0.1:8080/v1) and SWITCHYARD_API_KEY (a
// gateway key; any value when the gateway has no keys configured) override the defaults;
// SWITCHYARD_MODEL and SWITCHYARD_EMBEDDING_MODEL pick the models.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	if err := run(); err != nil {
		var apiErr *openai.Error
		if errors.As(err, &apiErr) {
			// The gateway's errors use OpenAI's envelope, so the SDK decodes them.
			fmt.Fprintf(os.Stderr, "gateway error: HTTP %d, code %q: %s\n", apiErr.StatusCode, apiErr.Code, apiErr.Message)
		} else {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	client := openai.NewClient(
		option.WithBaseURL(env("SWITCHYARD_BASE_URL", "http://127.0.0.1:8080/v1")),
		option.WithAPIKey(env("SWITCHYARD_API_KEY", "unused")),
		// Honoured when the gateway key allows attribution headers (or auth is off).
		option.WithHeader("X-Switchyard-Feature", "examples"),
	)
	model := env("SWITCHYARD_MODEL", "gpt-4o-mini")

	models, err := client.Models.List(ctx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	fmt.Printf("models: %d listed\n", len(models.Data))

	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello in five words.")},
	}
	var httpResp *http.Response
	resp, err := client.Chat.Completions.New(ctx, params, option.WithResponseInto(&httpResp))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	h := httpResp.Header
	fmt.Printf("chat: %q (request %s, route %s, model %s, %d tokens)\n", resp.Choices[0].Message.Content,
		h.Get("X-Request-Id"), h.Get("X-Switchyard-Route"), h.Get("X-Switchyard-Model"), resp.Usage.TotalTokens)

	stream := client.Chat.Completions.NewStreaming(ctx, params)
	defer stream.Close()
	fmt.Print("stream: ")
	for stream.Next() {
		if chunk := stream.Current(); len(chunk.Choices) > 0 {
			fmt.Print(chunk.Choices[0].Delta.Content)
		}
	}
	fmt.Println()
	if err := stream.Err(); err != nil {
		return fmt.Errorf("chat stream: %w", err)
	}

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: openai.EmbeddingModel(env("SWITCHYARD_EMBEDDING_MODEL", "text-embedding-3-small")),
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("Switchyard routes LLM traffic.")},
	})
	if err != nil {
		return fmt.Errorf("embeddings: %w", err)
	}
	fmt.Printf("embeddings: %d vector(s) of %d dimensions\n", len(emb.Data), len(emb.Data[0].Embedding))
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
