package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/microbatch"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/router"
)

// embedItem is one caller's embeddings request waiting in a micro-batch.
type embedItem struct {
	t      *target
	c      *router.Candidate
	model  string   // the upstream model
	params []byte   // the shared members (dimensions, encoding_format, user) as JSON members
	inputs []string // raw JSON of each input
	weight int      // token estimate, for splitting usage
}

// embedResult is one caller's share of a batched answer.
type embedResult struct {
	body  []byte
	usage provider.Usage
}

// embedBatcher merges concurrent single-input embeddings requests for the same
// deployment, model and parameters into one upstream call with an array input.
type embedBatcher = microbatch.Batcher[*embedItem, embedResult]

func newEmbedBatcher(g *Gateway, cfg microbatch.Config) (*embedBatcher, error) {
	return microbatch.New(cfg, g.flushEmbeddings, microbatch.Options{Split: inputError})
}

// inputError reports whether a failed batch should be retried item by item: only when
// the upstream blamed the input (400, 413, 422), so that one bad input fails only its
// own caller, and an outage is not multiplied by the batch size.
func inputError(err error) bool {
	var e *apierr.Error
	return errors.As(err, &e) && (e.Status == 400 || e.Status == 413 || e.Status == 422)
}

// batchable reads a request body into an embedItem when it can share an upstream call:
// only the members model, input, dimensions, encoding_format and user, and an input
// that is one string or a short array of strings.
func batchable(body []byte) (params []byte, inputs []string, ok bool) {
	ok = true
	jsonx.View(body).ForEach(func(k, v jsonx.Result) bool {
		switch k.Str {
		case "model":
		case "input":
			switch {
			case v.Type == jsonx.String:
				inputs = append(inputs, strings.Clone(v.Raw))
			case v.IsArray():
				v.ForEach(func(_, x jsonx.Result) bool {
					inputs = append(inputs, strings.Clone(x.Raw))
					ok = x.Type == jsonx.String
					return ok
				})
			default:
				ok = false
			}
		case "dimensions", "encoding_format", "user":
			params = append(append(append(append(params, ','), jsonx.Quote(nil, k.Str)...), ':'), v.Raw...)
		default:
			ok = false
		}
		return ok
	})
	return params, inputs, ok && len(inputs) > 0 && len(inputs) <= 16
}

// attemptBatched sends one embeddings request through the micro-batcher and answers the
// client with its own vectors and usage share.
func (g *Gateway) attemptBatched(ex *exchange, ctx context.Context, t *target, pr *provider.Request, c *router.Candidate,
	params []byte, inputs []string, out sink) attemptResult {
	weight := 0
	for _, in := range inputs {
		weight += len(in)/4 + 1
	}
	it := &embedItem{t: t, c: c, model: pr.Model, params: params, inputs: inputs, weight: weight}
	key := c.ID + "\x00" + pr.Model + "\x00" + string(params)
	res, err := g.embeds.Submit(ctx, key, it, weight)
	if errors.Is(err, microbatch.ErrQueueFull) || errors.Is(err, microbatch.ErrClosed) {
		return g.attemptDirect(ex, ctx, t, pr, c, out) // no room to batch: send it on its own
	}
	if err != nil {
		e := classify(err)
		class := errorClass(e)
		if class == 0 {
			class = transportClass(err)
		}
		return attemptResult{status: e.Status, err: e, class: class}
	}
	ex.rec.usage = res.usage
	var h fasthttp.ResponseHeader
	h.Set("X-Switchyard-Batched", "true")
	out.answer(200, &h, res.body)
	return attemptResult{}
}

// flushEmbeddings makes the one upstream call for a batch and splits the answer back.
func (g *Gateway) flushEmbeddings(_ context.Context, _ string, items []*embedItem) ([]embedResult, error) {
	first := items[0]
	body := append([]byte(`{"model":`), jsonx.Quote(nil, first.model)...)
	body = append(body, `,"input":[`...)
	n := 0
	for _, it := range items {
		for _, in := range it.inputs {
			if n > 0 {
				body = append(body, ',')
			}
			body = append(body, in...)
			n++
		}
	}
	body = append(append(body, ']'), first.params...)
	body = append(body, '}')
	resp, err := g.callEmbeddings(first, body)
	if err != nil {
		return nil, err
	}
	return splitEmbeddings(resp, items, n)
}

// callEmbeddings posts body to the batch's deployment and returns the answer body.
func (g *Gateway) callEmbeddings(it *embedItem, body []byte) ([]byte, error) {
	pr := provider.Request{Op: provider.OpEmbedding, Body: body, Model: it.model, ClientModel: it.model}
	it.c.Health.Start()
	start := time.Now()
	ans, err := g.callTarget(context.Background(), it.t, &pr)
	switch {
	case err != nil:
		failed(it.c, start, err)
		return nil, err
	case ans.status >= 300:
		return nil, upstreamErrorAnswer(it.c, start, it.t, ans.status, ans.body, ans.retryAfter).err
	}
	d := time.Since(start)
	it.c.Health.Done(router.Success, d, d)
	return ans.body, nil
}

// splitEmbeddings cuts one batched answer into each item's answer: its own vectors,
// indexed from 0, and a share of the usage proportional to its token estimate.
func splitEmbeddings(resp []byte, items []*embedItem, n int) ([]embedResult, error) {
	vecs := make([]string, n)
	got := 0
	jsonx.Get(resp, "data").ForEach(func(_, d jsonx.Result) bool {
		i := int(d.Get("index").Int())
		if i >= 0 && i < n && vecs[i] == "" {
			vecs[i] = d.Get("embedding").Raw
			got++
		}
		return true
	})
	if got != n {
		return nil, apierr.BadGateway("upstream_bad_answer", "the upstream returned "+strconv.Itoa(got)+" embeddings for "+strconv.Itoa(n)+" inputs")
	}
	model := jsonx.Get(resp, "model").Raw
	if model == "" {
		model = `""`
	}
	total := jsonx.Get(resp, "usage.prompt_tokens").Int()
	weights := 0
	for _, it := range items {
		weights += it.weight
	}
	out := make([]embedResult, len(items))
	next, left := 0, total
	for k, it := range items {
		share := total * int64(it.weight) / int64(max(weights, 1))
		if k == len(items)-1 {
			share = left
		}
		left -= share
		b := []byte(`{"object":"list","data":[`)
		for j := range it.inputs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"object":"embedding","index":`...)
			b = strconv.AppendInt(b, int64(j), 10)
			b = append(b, `,"embedding":`...)
			b = append(b, vecs[next]...)
			b = append(b, '}')
			next++
		}
		b = append(b, `],"model":`...)
		b = append(b, model...)
		b = append(b, `,"usage":{"prompt_tokens":`...)
		b = strconv.AppendInt(b, share, 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, share, 10)
		b = append(b, "}}"...)
		out[k] = embedResult{body: b, usage: provider.Usage{Reported: true, InputTokens: share}}
	}
	return out, nil
}
