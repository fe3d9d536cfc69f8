package gateway

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/policies"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// listModels answers GET /v1/models: the configured names and aliases, or, for a
// passthrough configuration whose provider can list, the provider's own list. A request
// carrying anthropic-version gets Anthropic's list shape, paged, and error envelope
// instead (see writeAnthropicList).
func (g *Gateway) listModels(ctx *fasthttp.RequestCtx) (rec record) {
	rec.op = provider.OpModels
	anth := wantsAnthropic(ctx)
	if !g.requireGET(ctx, anth, &rec) {
		return rec
	}
	p, err := g.keyring().authenticate(ctx)
	if err != nil {
		rec.errCode = g.modelsError(ctx, anth, err)
		return rec
	}
	rec.principal = p
	pl := g.plan.Load()
	if w, ok := pl.snap.Models[policies.Wildcard]; ok && len(pl.names) == 0 && len(w.Deployments) > 0 {
		t := g.targets[w.Deployments[0].Provider]
		if l, ok := t.tr.(provider.Lister); ok {
			body, err := g.proxyList(ctx, &rec, t, l)
			switch {
			case err != nil:
				rec.errCode = g.modelsError(ctx, anth, err)
			case anth:
				g.writeAnthropicList(ctx, &rec, anthropicModelsOf(body))
			default:
				ctx.SetContentType("application/json")
				ctx.Response.SetBodyRaw(body)
			}
			return rec
		}
	}
	if anth {
		ms := make([]anthropicModel, 0, len(pl.names))
		for _, n := range pl.names {
			ms = append(ms, newAnthropicModel(n, startTime))
		}
		g.writeAnthropicList(ctx, &rec, ms)
		return rec
	}
	data := make([]modelObject, 0, len(pl.names))
	for _, n := range pl.names {
		data = append(data, modelObject{ID: n, Object: "model", Created: startTime, OwnedBy: ownerOf(pl, n)})
	}
	b, _ := jsonx.Marshal(map[string]any{"object": "list", "data": data})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return rec
}

// ownerOf names the provider of a model's first deployment.
func ownerOf(pl *plan, name string) string {
	m, ok := pl.snap.Models[name]
	if !ok || len(m.Deployments) == 0 {
		return "switchyard"
	}
	return m.Deployments[0].Provider
}

// startTime is reported as every configured model's creation time.
var startTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// proxyList asks t's provider for its model list and returns the answer's body (a copy).
func (g *Gateway) proxyList(ctx *fasthttp.RequestCtx, rec *record, t *target, l provider.Lister) ([]byte, error) {
	out := outboundPool.Get().(*provider.Outbound)
	defer func() { out.Reset(); outboundPool.Put(out) }()
	if err := l.EncodeList(out); err != nil {
		return nil, err
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	fillRequest(req, out)
	req.Header.SetBytesV(headerRequestID, ctx.Response.Header.Peek(headerRequestID))
	err := t.client.Do(context.Background(), req, resp, g.nonStreamTimeout())
	fasthttp.ReleaseRequest(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode() >= 300 {
		return nil, t.tr.DecodeError(resp.StatusCode(), resp.Body(), "")
	}
	rec.provider = t.name
	return append([]byte(nil), resp.Body()...), nil
}

// getModel answers GET /v1/models/{id} for configured models, in Anthropic's shape
// and envelope when the request carries anthropic-version.
func (g *Gateway) getModel(ctx *fasthttp.RequestCtx, id []byte) (rec record) {
	rec.op = provider.OpModels
	anth := wantsAnthropic(ctx)
	if !g.requireGET(ctx, anth, &rec) {
		return rec
	}
	if _, err := g.keyring().authenticate(ctx); err != nil {
		rec.errCode = g.modelsError(ctx, anth, err)
		return rec
	}
	pl := g.plan.Load()
	m, ok := pl.snap.Model(string(id))
	if !ok {
		rec.errCode = g.modelsError(ctx, anth, apierr.UnknownModel(string(id)))
		return rec
	}
	var b []byte
	if anth {
		b, _ = jsonx.Marshal(newAnthropicModel(string(id), startTime))
	} else {
		b, _ = jsonx.Marshal(modelObject{ID: string(id), Object: "model", Created: startTime, OwnedBy: ownerOf(pl, m.Name)})
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
	return rec
}

// wantsAnthropic reports whether a models request comes from an Anthropic client: the
// Anthropic SDKs send anthropic-version on every request, OpenAI's never do.
func wantsAnthropic(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek("anthropic-version")) > 0
}

// requireGET is requireMethod(ctx, "GET"), answering in Anthropic's envelope when anth.
func (g *Gateway) requireGET(ctx *fasthttp.RequestCtx, anth bool, rec *record) bool {
	if !anth {
		return requireMethod(ctx, "GET")
	}
	if string(ctx.Method()) == "GET" {
		return true
	}
	ctx.Response.Header.Set("Allow", "GET")
	rec.errCode = g.modelsError(ctx, true, apierr.MethodNotAllowed(string(ctx.Method()), string(ctx.Path())))
	return false
}

// modelsError answers err in OpenAI's envelope, or in Anthropic's (rendered by the
// Messages API's translator) when anth is set, and returns the error's code.
func (g *Gateway) modelsError(ctx *fasthttp.RequestCtx, anth bool, err error) string {
	if !anth {
		return answerError(ctx, err).Code
	}
	e := classify(err)
	status, body := g.dialects[apiMessages].Error(e)
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	if e.RetryAfter != "" {
		ctx.Response.Header.Set("Retry-After", e.RetryAfter)
	}
	ctx.Response.SetBodyRaw(body)
	return e.Code
}

// anthropicModel is a model in the shape of Anthropic's Models API (GET /v1/models/{id}
// and the items of GET /v1/models).
type anthropicModel struct {
	Type        string `json:"type"` // always "model"
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// CreatedAt is an RFC 3339 time, UTC.
	CreatedAt string `json:"created_at"`
}

func newAnthropicModel(id string, created int64) anthropicModel {
	return anthropicModel{Type: "model", ID: id, DisplayName: id,
		CreatedAt: time.Unix(created, 0).UTC().Format(time.RFC3339)}
}

// anthropicList is a page of Anthropic's model list. FirstID and LastID are null on an
// empty page.
type anthropicList struct {
	Data    []anthropicModel `json:"data"`
	HasMore bool             `json:"has_more"`
	FirstID *string          `json:"first_id"`
	LastID  *string          `json:"last_id"`
}

// anthropicModelsOf reads an OpenAI model list (a provider's) as Anthropic models.
func anthropicModelsOf(body []byte) []anthropicModel {
	var ms []anthropicModel
	jsonx.Get(body, "data").ForEach(func(_, m jsonx.Result) bool {
		if id := m.Get("id").String(); id != "" {
			ms = append(ms, newAnthropicModel(id, m.Get("created").Int()))
		}
		return true
	})
	return ms
}

// Anthropic's list page sizes: 20 unless the client asks, at most 1000.
const (
	anthropicPageDefault = 20
	anthropicPageMax     = 1000
)

// writeAnthropicList answers one page of ms as Anthropic does: limit (1 to 1000, default
// 20) items after after_id or before before_id (ids in the list), has_more when the
// list goes on in that direction. A bad limit or an id not in the list is a 400.
func (g *Gateway) writeAnthropicList(ctx *fasthttp.RequestCtx, rec *record, ms []anthropicModel) {
	args := ctx.QueryArgs()
	limit := anthropicPageDefault
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > anthropicPageMax {
			rec.errCode = g.modelsError(ctx, true, apierr.BadRequest("invalid_limit", "limit", "limit must be an integer from 1 to 1000"))
			return
		}
		limit = n
	}
	index := func(param string) (int, bool) {
		id := string(args.Peek(param))
		for i := range ms {
			if ms[i].ID == id {
				return i, true
			}
		}
		rec.errCode = g.modelsError(ctx, true, apierr.BadRequest("invalid_cursor", param, param+" "+strconv.Quote(id)+" is not a listed model"))
		return 0, false
	}
	var lo, hi int
	switch {
	case args.Has("before_id"):
		i, ok := index("before_id")
		if !ok {
			return
		}
		hi, lo = i, max(0, i-limit)
	case args.Has("after_id"):
		i, ok := index("after_id")
		if !ok {
			return
		}
		lo = i + 1
		hi = min(len(ms), lo+limit)
	default:
		hi = min(len(ms), limit)
	}
	page := anthropicList{Data: ms[lo:hi], HasMore: hi < len(ms)}
	if args.Has("before_id") {
		page.HasMore = lo > 0
	}
	if page.Data == nil {
		page.Data = []anthropicModel{}
	}
	if len(page.Data) > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[len(page.Data)-1].ID
	}
	b, _ := jsonx.Marshal(page)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
