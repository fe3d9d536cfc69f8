package gateway

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect/messages"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// countTokens answers POST /v1/messages/count_tokens: passed to the model's provider when
// it is Anthropic, the tokenizer's estimate of the translated request otherwise. Nothing
// is spent, so nothing is metered. Errors are in Anthropic's envelope.
func (g *Gateway) countTokens(rc *fasthttp.RequestCtx) {
	ex := &exchange{g: g, rc: rc, api: apiMessages, tr: g.dialects[apiMessages], id: string(rc.Response.Header.Peek(headerRequestID)),
		fwd: forwarded(rc)}
	ex.rec.op, ex.rec.dialect = provider.OpChat, ex.api.String()
	if !requireMethod(rc, "POST") {
		return
	}
	pr, f, err := g.admit(rc, provider.OpChat, &ex.rec)
	if err != nil {
		ex.fail(err)
		return
	}
	ex.orig = pr.Body
	pl := g.plan.Load()
	sel, err := g.route(rc, pl, &pr, &f, &ex.rec)
	if err != nil {
		ex.fail(err)
		return
	}
	c := sel.dec.Candidate
	t := g.targets[c.Provider]
	if t.kind == provider.KindAnthropic {
		np := pr
		np.Op, np.Model, np.Header = provider.OpCountTokens, c.UpstreamModel, ex.fwd
		if np.Model == "" {
			np.Model = pr.ClientModel
		}
		ans, err := g.callTarget(context.Background(), t, &np)
		switch {
		case err != nil:
			ex.fail(err)
		case ans.status >= 300:
			ex.fail(t.tr.DecodeError(ans.status, ans.body, ans.retryAfter))
		default:
			rc.SetContentType("application/json")
			rc.SetBody(ans.body)
		}
		return
	}
	chat, err := g.countTokensChat(ex)
	if err != nil {
		ex.fail(err)
		return
	}
	model := c.UpstreamModel
	if model == "" {
		model = pr.ClientModel
	}
	n := g.meter.tok.EstimateChat(model, chat)
	rc.SetContentType("application/json")
	rc.SetBody(messages.CountTokensAnswer(int64(n)))
}

// countTokensChat translates a count_tokens request (a message request that needs no
// max_tokens) to Chat Completions, for the tokenizer.
func (g *Gateway) countTokensChat(ex *exchange) ([]byte, error) {
	if ex.tr == nil {
		return nil, apierr.Internal("no messages translator")
	}
	body := ex.orig
	if !jsonx.Get(body, "max_tokens").Exists() {
		var err error
		if body, err = jsonx.SetTopLevel(body, "max_tokens", []byte("1")); err != nil {
			return nil, apierr.InvalidJSON()
		}
	}
	c, err := ex.tr.Request(body, nil)
	if err != nil {
		return nil, err
	}
	return c.Body, nil
}
