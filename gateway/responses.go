package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard/switchyard/internal/apierr"
	"github.com/switchyard/switchyard/internal/dialect"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/respstore"
)

// storeTimeout bounds one response-store read or write on the request path.
const storeTimeout = 2 * time.Second

// admitDialect prepares a dialect exchange once its body is known to be a JSON object:
// the client's bytes are kept (a flight's producer may translate them after the handler
// returned).
func (g *Gateway) admitDialect(ex *exchange, pr *provider.Request, f *fields) error {
	ex.orig = bytes.Clone(pr.Body)
	pr.IncludeUsage = false
	return nil
}

// loadPrior resolves a Responses request's previous_response_id for a translated
// provider: the stored conversation, as Chat Completions messages to put first.
func (g *Gateway) loadPrior(ex *exchange, id string) error {
	if g.responses == nil {
		return apierr.BadRequest("previous_response_not_found", "previous_response_id",
			"this gateway stores no responses (its ledger is none), so previous_response_id cannot be resolved")
	}
	ctx, cancel := context.WithTimeout(ex.ctx, storeTimeout)
	defer cancel()
	rec, err := g.responses.Get(ctx, ex.rec.principal.Key, id)
	if errors.Is(err, respstore.ErrNotFound) {
		return apierr.BadRequest("previous_response_not_found", "previous_response_id",
			"Previous response with id '"+id+"' not found.")
	}
	if err != nil {
		return apierr.Unavailable("response_store_unavailable", "the response store cannot be read right now")
	}
	prior, err := chatMessages(ex.tr, rec.History)
	if err != nil {
		return err
	}
	ex.history, ex.prior = rec.History, prior
	return nil
}

// chatMessages translates Responses input items into Chat Completions messages.
func chatMessages(tr dialect.Translator, items []byte) ([][]byte, error) {
	if len(items) == 0 {
		return nil, nil
	}
	body := append(append([]byte(`{"model":"m","input":`), items...), '}')
	c, err := tr.Request(body, nil)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	jsonx.Get(c.Body, "messages").ForEach(func(_, m jsonx.Result) bool {
		out = append(out, []byte(m.Raw))
		return true
	})
	return out, nil
}

// storeResponse keeps a translated Responses answer (unless the request said store:
// false) with its input items and the conversation so far, for previous_response_id,
// retrieval and deletion. A failure only logs: the answer has gone to the client.
func (g *Gateway) storeResponse(ex *exchange, out []byte) {
	if ex.api != apiResponses || g.responses == nil || len(out) == 0 || !wantsStore(ex.orig) {
		return
	}
	id := jsonx.Get(out, "id").Str
	items := withIDs(inputItems(ex.orig), id)
	hist := concatArrays(ex.history, items, []byte(jsonx.Get(out, "output").Raw))
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := g.responses.Put(ctx, respstore.Record{ID: id, Owner: ex.rec.principal.Key,
		Response: bytes.Clone(out), Input: items, History: hist})
	if err != nil {
		g.log.Warn("response not stored", "request_id", ex.id, "error", err.Error())
	}
}

// inputItems is a Responses request's input as an item array (a string input is one
// user message).
func inputItems(body []byte) []byte {
	in := jsonx.Get(body, "input")
	if in.Type == jsonx.String {
		return append(append([]byte(`[{"type":"message","role":"user","content":[{"type":"input_text","text":`),
			jsonx.Quote(nil, in.Str)...), "}]}]"...)
	}
	if in.IsArray() {
		return []byte(in.Raw)
	}
	return []byte("[]")
}

// withIDs gives every input item that has none an id derived from the response's
// (msg_<response>_<n>), as input_items lists them.
func withIDs(items []byte, respID string) []byte {
	base := strings.TrimPrefix(respID, "resp_")
	out := []byte{'['}
	n := 0
	jsonx.View(items).ForEach(func(_, it jsonx.Result) bool {
		if n > 0 {
			out = append(out, ',')
		}
		raw := []byte(it.Raw)
		if it.IsObject() && !it.Get("id").Exists() {
			if b, err := jsonx.SetTopLevel(raw, "id", jsonx.Quote(nil, "msg_"+base+"_in"+strconv.Itoa(n))); err == nil {
				raw = b
			}
		}
		out = append(out, raw...)
		n++
		return true
	})
	return append(out, ']')
}

// concatArrays joins JSON arrays.
func concatArrays(arrays ...[]byte) []byte {
	out := []byte{'['}
	for _, a := range arrays {
		a = bytes.TrimSpace(a)
		if len(a) < 2 || a[0] != '[' {
			continue
		}
		inner := bytes.TrimSpace(a[1 : len(a)-1])
		if len(inner) == 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, inner...)
	}
	return append(out, ']')
}

// responsesByID answers GET and DELETE /v1/responses/{id} and GET
// /v1/responses/{id}/input_items for the responses this gateway stored, for the key
// that stored them; any other key is told they do not exist.
func (g *Gateway) responsesByID(rc *fasthttp.RequestCtx, rest string) {
	id, sub, _ := strings.Cut(rest, "/")
	method := string(rc.Method())
	if (sub != "" && sub != "input_items") || (sub == "input_items" && method != "GET") {
		writeError(rc, apierr.NotFound(string(rc.Path())))
		return
	}
	if method != "GET" && method != "DELETE" {
		rc.Response.Header.Set("Allow", "GET, DELETE")
		writeError(rc, apierr.MethodNotAllowed(method, string(rc.Path())))
		return
	}
	p, err := g.keyring().authenticate(rc)
	if err != nil {
		writeError(rc, err)
		return
	}
	notFound := apierr.New(404, apierr.TypeInvalidRequest, "not_found", "", "No response found with id '"+id+"'.")
	if g.responses == nil {
		writeError(rc, notFound)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if method == "DELETE" {
		switch err := g.responses.Delete(ctx, p.Key, id); {
		case errors.Is(err, respstore.ErrNotFound):
			writeError(rc, notFound)
		case err != nil:
			writeError(rc, apierr.Unavailable("response_store_unavailable", "the response store cannot be written right now"))
		default:
			rc.SetContentType("application/json")
			rc.SetBody(append(append([]byte(`{"id":`), jsonx.Quote(nil, id)...), `,"object":"response.deleted","deleted":true}`...))
		}
		return
	}
	rec, err := g.responses.Get(ctx, p.Key, id)
	switch {
	case errors.Is(err, respstore.ErrNotFound):
		writeError(rc, notFound)
		return
	case err != nil:
		writeError(rc, apierr.Unavailable("response_store_unavailable", "the response store cannot be read right now"))
		return
	}
	rc.SetContentType("application/json")
	if sub == "" {
		rc.SetBody(rec.Response)
		return
	}
	b := append([]byte(`{"object":"list","data":`), rec.Input...)
	first, last := "", ""
	items := jsonx.View(rec.Input)
	n := 0
	items.ForEach(func(_, it jsonx.Result) bool {
		if n == 0 {
			first = it.Get("id").Str
		}
		last = it.Get("id").Str
		n++
		return true
	})
	b = append(b, `,"first_id":`...)
	b = jsonx.Quote(b, first)
	b = append(b, `,"last_id":`...)
	b = jsonx.Quote(b, last)
	rc.SetBody(append(b, `,"has_more":false}`...))
}

// purgeResponses deletes stored responses past their retention now and every interval,
// until ctx ends. It is the store's only background work, owned by Serve.
func (g *Gateway) purgeResponses(ctx context.Context, interval time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			g.log.Error("panic purging stored responses", "panic", fmt.Sprint(v))
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := g.responses.Purge(pctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			g.log.Warn("stored responses not purged", "error", err.Error())
		case n > 0:
			g.log.Info("stored responses past their retention deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
