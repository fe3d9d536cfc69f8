// Command goopenai talks to Switchyard with github.com/sashabaranov/go-openai: it lists
// the models, asks for a chat completion, streams one, and embeds a sentence.
//
// Run it against a gateway on the embedded default (`make run` in another terminal):
//
//	cd examples/go && go run ./goopenai
//
// SWITCHYARD_BASE_URL (default http://127.0.0.1:8080/v1) and SWITCHYARD_API_KEY (a
// gateway key; any value when the gateway has no keys configured) override the defaults;
// SWITCHYARD_MODEL and SWITCHYARD_EMBEDDING_MODEL pick the models.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

func main() {
	if err := run(); err != nil {
		var apiErr *openai.APIError
		if errors.As(err, &apiErr) {
			// The gateway's errors use OpenAI's envelope, so the SDK decodes them.
			fmt.Fprintf(os.Stderr, "gateway error: HTTP %d, code %v: %s\n", apiErr.HTTPStatusCode, apiErr.Code, apiErr.Message)
		} else {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cfg := openai.DefaultConfig(env("SWITCHYARD_API_KEY", "unused"))
	cfg.BaseURL = env("SWITCHYARD_BASE_URL", "http://127.0.0.1:8080/v1")
	client := openai.NewClientWithConfig(cfg)
	model := env("SWITCHYARD_MODEL", "gpt-4o-mini")

	models, err := client.ListModels(ctx)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	fmt.Printf("models: %d listed\n", len(models.Models))

	req := openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "Say hello in five words."}},
	}
	resp, err := client.CreateChatCompletion(ctx, req)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	h := resp.Header()
	fmt.Printf("chat: %q (request %s, route %s, model %s, %d tokens)\n", resp.Choices[0].Message.Content,
		h.Get("X-Request-Id"), h.Get("X-Switchyard-Route"), h.Get("X-Switchyard-Model"), resp.Usage.TotalTokens)

	stream, err := client.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return fmt.Errorf("chat stream: %w", err)
	}
	defer stream.Close()
	fmt.Print("stream: ")
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("chat stream: %w", err)
		}
		if len(chunk.Choices) > 0 {
			fmt.Print(chunk.Choices[0].Delta.Content)
		}
	}
	fmt.Println()

	emb, err := client.CreateEmbeddings(ctx, openai.EmbeddingRequest{
		Model: openai.EmbeddingModel(env("SWITCHYARD_EMBEDDING_MODEL", "text-embedding-3-small")),
		Input: []string{"Switchyard routes LLM traffic."},
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
