package gateway

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/telemetry"
	"github.com/switchyard/switchyard/policies"
)

// usedPrompt is the prompt version a request was rendered from, kept to report its
// outcome to the registry's rollback guard.
type usedPrompt struct {
	reg   *policies.Registry
	v     *policies.PromptVersion
	attrs policies.ResolveAttrs
}

// wantsPrompt reports whether a chat request references a server-side prompt (a prompt
// object, or the x-switchyard-prompt header). A legacy completion's "prompt" is its text.
func wantsPrompt(ctx *fasthttp.RequestCtx, op provider.Op, f *fields) bool {
	if op != provider.OpChat {
		return false
	}
	return f.prompt.IsObject() || len(ctx.Request.Header.Peek("X-Switchyard-Prompt")) > 0
}

// renderPrompt resolves the request's prompt reference (the prompt member, or the
// x-switchyard-prompt header) to a version, by pin or rollout, and renders it into the
// request body; the client's messages follow the rendered ones. pr, f and rec then
// describe the rendered request.
func (g *Gateway) renderPrompt(ctx *fasthttp.RequestCtx, pr *fields, rec *record, body *[]byte) error {
	reg := g.prompts.Load()
	if reg == nil {
		return apierr.BadRequest("prompts_not_configured", "prompt", "this gateway has no prompt registry (set prompts in the config)")
	}
	var ref policies.Ref
	var err error
	if pr.prompt.IsObject() {
		ref, err = policies.ParseRefObject([]byte(pr.prompt.Raw))
	} else {
		ref, err = policies.ParseRefHeader(string(ctx.Request.Header.Peek("X-Switchyard-Prompt")))
	}
	if err != nil {
		return promptError(err)
	}
	attrs := policies.ResolveAttrs{Feature: rec.principal.Feature, Team: rec.principal.Team, StickyKey: pr.user,
		Session: string(ctx.Request.Header.Peek("X-Switchyard-Session"))}
	if attrs.StickyKey == "" {
		attrs.StickyKey = rec.principal.Key
	}
	if attrs.Session == "" {
		attrs.Session = pr.metadata.Get("session_id").String()
	}
	span := rec.tr.span.Child(telemetry.SpanPrompt)
	v, _, err := reg.Resolve(ref, attrs)
	span.End()
	if err != nil {
		return promptError(err)
	}
	rendered, err := v.RenderRequest(ref.Variables, *body)
	if err != nil {
		return promptError(err)
	}
	nf, err := readFields(rendered)
	if err != nil {
		return err
	}
	if nf.model == "" {
		return apierr.MissingParam("model")
	}
	*pr, *body = nf, rendered
	rec.model, rec.body = nf.model, rendered
	rec.promptID, rec.promptVersion = v.ID, v.Version
	rec.prompt = &usedPrompt{reg: reg, v: v, attrs: attrs}
	return nil
}

// promptError maps the registry's errors to 400s naming what is wrong.
func promptError(err error) error {
	var ve *policies.VarError
	if errors.As(err, &ve) {
		return apierr.BadRequest("invalid_prompt_variable", "prompt.variables."+ve.Name, ve.Error())
	}
	var re *policies.RefError
	if errors.As(err, &re) {
		return apierr.BadRequest("invalid_prompt", "prompt", re.Error())
	}
	return apierr.BadRequest("invalid_prompt", "prompt", err.Error())
}

// observePrompt tells the registry how a prompt-rendered request went, for automatic
// rollback of a canary that does worse than its baseline.
// Only requests that reached a provider count, and only the provider's failures: the
// gateway's own refusals (a rate limit) and clients hanging up say nothing about the
// prompt version.
func observePrompt(rec *record) {
	p := rec.prompt
	if p == nil || rec.provider == "" {
		return
	}
	failed := rec.status >= 500 || (rec.status >= 400 && rec.errCode != "client_closed_request") ||
		(rec.errCode != "" && rec.errCode != "client_closed_request")
	p.reg.Observe(p.v, p.attrs, failed, int64(rec.cost/1000))
}
