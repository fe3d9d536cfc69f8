package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard/switchyard/cache"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
	"github.com/switchyard/switchyard/router"
)

// modelEmbedder is the semantic cache's Embedder for an embeddings model the gateway
// serves: it routes {"model", "input": texts} like any embeddings request (the model's
// deployments and health), calls the provider, and meters the call under the key
// "switchyard", team "switchyard", feature "semantic-cache".
type modelEmbedder struct {
	g     *Gateway
	model string
}

var _ cache.Embedder = (*modelEmbedder)(nil)

// Name makes the embedder part of the semantic partition: vectors of different models
// are never compared.
func (e *modelEmbedder) Name() string { return "model:" + e.model }

// Embed embeds texts with one upstream call. The call is bounded by the gateway's
// first-byte timeout rather than ctx (fasthttp clients take no context).
func (e *modelEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	g := e.g
	pl := g.plan.Load()
	m, ok := pl.snap.Model(e.model)
	if !ok {
		return nil, errors.New("semantic cache embedder: unknown model " + e.model)
	}
	route := pl.byModel[m.Name]
	dec, ok := g.router.First(route, &router.Request{}, route.Candidates)
	if !ok {
		return nil, errors.New("semantic cache embedder: no deployment for " + e.model)
	}
	c := dec.Candidate
	t := g.targets[c.Provider]
	upstream := c.UpstreamModel
	if upstream == "" {
		upstream = e.model
	}
	body, _ := jsonx.Marshal(map[string]any{"model": upstream, "input": texts})
	start := time.Now()
	it := &embedItem{t: t, c: c, model: upstream}
	resp, err := g.callEmbeddings(it, body)
	rec := record{op: provider.OpEmbedding, principal: Principal{Key: "switchyard", Team: "switchyard", Feature: "semantic-cache"},
		model: e.model, served: m.Name, upstream: upstream, provider: c.Provider, deployment: c.ID, route: "semantic-cache",
		policy: pl.snap.Version, cache: metering.CacheNone, status: 200}
	rec.priceRequested = g.meter.priceModel(rec.served, upstream, start)
	rec.priceServed = rec.priceRequested
	if err != nil {
		rec.status, rec.errCode = classify(err).Status, classify(err).Code
	} else {
		rec.usage = provider.OpenAIUsage(jsonx.Get(resp, "usage"))
	}
	var buf [48]byte
	g.meter.event(&rec, string(g.ids.next(buf[:0])), start, time.Since(start), 0, usageState{complete: err == nil}, body)
	if err != nil {
		return nil, err
	}
	return cache.ParseEmbeddings(resp)
}
