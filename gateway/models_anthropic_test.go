package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/switchyard/switchyard/internal/mock"
	"github.com/switchyard/switchyard/internal/testutil"
)

// modelsGateway serves three configured names (a model, an alias, another model) to
// one key, or the upstream's own list when wildcard is set.
func modelsGateway(t *testing.T, wildcard bool) *testutil.Gateway {
	t.Helper()
	up := testutil.StartUpstream(t, mock.Config{})
	models := `
  - {name: claude-sonnet-4-5, provider: openai, upstream_model: gpt-4o, aliases: [sonnet]}
  - {name: gpt-4o-mini, provider: openai}`
	if wildcard {
		models = `[{name: "*", provider: openai}]`
	}
	return testutil.StartGateway(t, fmt.Sprintf(`
providers: [{name: openai, base_url: %s}]
models: %s
keys: [{name: app, key_env: KA}]
`, up.URL, models), map[string]string{"KA": "ka"})
}

func TestTheAnthropicClientListsAndGetsTheGatewaysModels(t *testing.T) {
	g := modelsGateway(t, false)
	c := anthropicClient(g, "ka")
	ctx := context.Background()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("the list holds every name in Anthropic's shape", func(t *testing.T) {
		page, err := c.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
			if m.Type != "model" || m.DisplayName != m.ID || !m.CreatedAt.Equal(created) {
				t.Errorf("model %+v", m)
			}
		}
		if strings.Join(ids, " ") != "claude-sonnet-4-5 gpt-4o-mini sonnet" || page.HasMore ||
			page.FirstID != "claude-sonnet-4-5" || page.LastID != "sonnet" {
			t.Errorf("page %v has_more %v first %q last %q", ids, page.HasMore, page.FirstID, page.LastID)
		}
	})

	t.Run("auto-paging one model at a time visits each once", func(t *testing.T) {
		it := c.Models.ListAutoPaging(ctx, anthropic.ModelListParams{Limit: anthropic.Int(1)})
		var ids []string
		for it.Next() {
			ids = append(ids, it.Current().ID)
		}
		if err := it.Err(); err != nil || strings.Join(ids, " ") != "claude-sonnet-4-5 gpt-4o-mini sonnet" {
			t.Fatalf("paged %v, %v", ids, err)
		}
	})

	t.Run("an alias is got by its name", func(t *testing.T) {
		m, err := c.Models.Get(ctx, "sonnet", anthropic.ModelGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != "sonnet" || m.Type != "model" || m.DisplayName != "sonnet" || !m.CreatedAt.Equal(created) {
			t.Errorf("model %+v", m)
		}
	})

	t.Run("an unknown model is Anthropic's not_found_error", func(t *testing.T) {
		_, err := c.Models.Get(ctx, "claude-nope", anthropic.ModelGetParams{})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Type() != "not_found_error" {
			t.Fatalf("unknown model: %v", err)
		}
	})

	t.Run("a bad key is Anthropic's authentication_error", func(t *testing.T) {
		bad := anthropicClient(g, "wrong")
		_, err := bad.Models.List(ctx, anthropic.ModelListParams{})
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type() != "authentication_error" {
			t.Fatalf("bad key: %v", err)
		}
	})
}

func TestTheModelsListIsShapedByTheAnthropicVersionHeader(t *testing.T) {
	g := modelsGateway(t, false)
	tests := []struct {
		name, path string
		anthropic  bool
		status     int
		want       []string // substrings of the body
	}{
		{"without the header the list is OpenAI's", "/v1/models", false, 200,
			[]string{`"object":"list"`, `"id":"sonnet","object":"model","created":1704067200`}},
		{"without the header a model is OpenAI's", "/v1/models/sonnet", false, 200, []string{`"object":"model"`, `"owned_by":"openai"`}},
		{"without the header an unknown model is OpenAI's error", "/v1/models/nope", false, 404, []string{`"error":{"message"`, `"code":"model_not_found"`}},
		{"a page before an id ends at it", "/v1/models?before_id=sonnet&limit=1", true, 200,
			[]string{`"data":[{"type":"model","id":"gpt-4o-mini","display_name":"gpt-4o-mini","created_at":"2024-01-01T00:00:00Z"}]`,
				`"has_more":true`, `"first_id":"gpt-4o-mini"`, `"last_id":"gpt-4o-mini"`}},
		{"a page after the last id is empty", "/v1/models?after_id=sonnet", true, 200,
			[]string{`"data":[]`, `"has_more":false`, `"first_id":null`, `"last_id":null`}},
		{"a limit out of range is Anthropic's invalid_request_error", "/v1/models?limit=0", true, 400,
			[]string{`"type":"error"`, `"type":"invalid_request_error"`, "limit must be"}},
		{"a cursor that is not listed is an invalid_request_error", "/v1/models?after_id=ghost", true, 400,
			[]string{`"type":"invalid_request_error"`, `after_id \"ghost\"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", g.URL+tt.path, nil)
			req.Header.Set("x-api-key", "ka")
			if tt.anthropic {
				req.Header.Set("anthropic-version", "2023-06-01")
			}
			r := g.Do(t, req)
			if r.Status != tt.status || !json.Valid(r.Body) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.Body), w) {
					t.Errorf("body %s\nwant it to contain %s", r.Body, w)
				}
			}
		})
	}
}

func TestAPassthroughGatewayListsTheProvidersModelsInAnthropicsShape(t *testing.T) {
	g := modelsGateway(t, true)
	c := anthropicClient(g, "ka")
	page, err := c.Models.List(context.Background(), anthropic.ModelListParams{Limit: anthropic.Int(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) == 0 || page.HasMore {
		t.Fatalf("page %+v", page)
	}
	for _, m := range page.Data {
		if m.ID == "" || m.Type != "model" || m.DisplayName != m.ID || m.CreatedAt.IsZero() {
			t.Errorf("model %+v", m)
		}
	}
	if page.FirstID != page.Data[0].ID || page.LastID != page.Data[len(page.Data)-1].ID {
		t.Errorf("first %q last %q of %d", page.FirstID, page.LastID, len(page.Data))
	}
}
