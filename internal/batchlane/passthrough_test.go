package batchlane_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"testing"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/metering"
)

// proxy plays the gateway's part in the passthrough: route, authorize, forward with the
// provider's key, learn ownership, filter lists. It is the wiring the gateway will do
// over fasthttp, written against the package's API.
type proxy struct {
	t      *testing.T
	base   string
	owners *batchlane.Owners
	doer   batchlane.Doer
}

// do sends one client request through the passthrough as caller and returns the status
// and body the client would get (404 for a refused id).
func (p *proxy) do(caller batchlane.Caller, method, path, query, contentType string, body []byte) (int, []byte) {
	p.t.Helper()
	target, err := batchlane.Route(method, path, query, p.base)
	if err != nil {
		p.t.Fatalf("Route(%s %s): %v", method, path, err)
	}
	if err := p.owners.Authorize(context.Background(), target, body, caller); err != nil {
		if !errors.Is(err, batchlane.ErrNotOwned) {
			p.t.Fatalf("Authorize: %v", err)
		}
		return 404, nil
	}
	req := &batchlane.Request{Method: target.Method, URL: target.URL, Body: body,
		Header: []provider.Header{{Key: "Authorization", Value: "Bearer " + fakeKey}}}
	for _, h := range []provider.Header{{Key: "Content-Type", Value: contentType}, {Key: "Authorization", Value: "Bearer sy-gateway-key"}} {
		if h.Value != "" && batchlane.ForwardRequestHeader(h.Key) {
			req.Header = append(req.Header, h)
		}
	}
	resp, err := p.doer.Do(context.Background(), req)
	if err != nil {
		p.t.Fatalf("Do: %v", err)
	}
	if err := p.owners.Learn(context.Background(), target, resp.Status, resp.Body, caller); err != nil {
		p.t.Fatalf("Learn: %v", err)
	}
	if target.Action == batchlane.ActionList && resp.Status == 200 {
		out, err := p.owners.FilterList(context.Background(), resp.Body, caller)
		if err != nil {
			p.t.Fatalf("FilterList: %v", err)
		}
		return resp.Status, out
	}
	return resp.Status, resp.Body
}

// batchUpload is a client's multipart upload of a batch input file.
func batchUpload(t *testing.T, lines ...string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("purpose", "batch")
	fw, _ := mw.CreateFormFile("file", "nightly.jsonl")
	for _, l := range lines {
		fmt.Fprintln(fw, l)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func inputLine(id, model, text string) string {
	return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":%q}]}}`, id, model, text)
}

func TestThePassthroughRunsABatchEndToEndAndMetersItsResultsAtBatchPrice(t *testing.T) {
	fake := newFakeBatchAPI(t, 2)
	p := &proxy{t: t, base: fake.base(), owners: batchlane.NewOwners(batchlane.Config{}, nil), doer: &batchlane.HTTPDoer{}}
	alice := batchlane.Caller{Key: "alice", Team: "data"}
	mallory := batchlane.Caller{Key: "mallory", Team: "data"}

	ct, form := batchUpload(t, inputLine("r1", "gpt-4o-mini", "first question"), inputLine("r2", "gpt-4o-mini", "second"))
	up, err := batchlane.InspectUpload(ct, form)
	if err != nil || up.Purpose != "batch" || up.Requests != 2 || fmt.Sprint(up.Models) != "[gpt-4o-mini]" {
		t.Fatalf("InspectUpload: %+v, %v", up, err)
	}
	status, body := p.do(alice, "POST", "/v1/files", "", ct, form)
	fileID := jsonx.Get(body, "id").String()
	if status != 200 || fileID == "" {
		t.Fatalf("upload: %d %s", status, body)
	}

	create := fmt.Appendf(nil, `{"input_file_id":%q,"endpoint":"/v1/chat/completions","completion_window":"24h"}`, fileID)
	if status, _ := p.do(mallory, "POST", "/v1/batches", "", "application/json", create); status != 404 {
		t.Fatalf("mallory made a batch of alice's file: %d", status)
	}
	status, body = p.do(alice, "POST", "/v1/batches", "", "application/json", create)
	batchID := jsonx.Get(body, "id").String()
	if status != 200 || batchID == "" {
		t.Fatalf("create: %d %s", status, body)
	}

	var outputID string
	for range 5 {
		status, body = p.do(alice, "GET", "/v1/batches/"+batchID, "", "", nil)
		if status != 200 {
			t.Fatalf("retrieve: %d %s", status, body)
		}
		if jsonx.Get(body, "status").String() == "completed" {
			outputID = jsonx.Get(body, "output_file_id").String()
			break
		}
	}
	if outputID == "" {
		t.Fatal("the batch did not complete")
	}
	if status, _ := p.do(mallory, "GET", "/v1/files/"+outputID+"/content", "", "", nil); status != 404 {
		t.Fatalf("mallory read alice's results: %d", status)
	}
	status, body = p.do(alice, "GET", "/v1/files/"+outputID+"/content", "", "", nil)
	if status != 200 {
		t.Fatalf("download: %d %s", status, body)
	}

	// Metering: what the gateway does with a downloaded output file.
	lines, err := batchlane.ParseResults(body)
	if err != nil || len(lines) != 2 {
		t.Fatalf("ParseResults: %d lines, %v", len(lines), err)
	}
	pricer := defaultPricer(t)
	for _, l := range lines {
		prompt, completion := fakeUsage(map[string]string{"r1": "first question", "r2": "second"}[l.CustomID])
		list := metering.Money(prompt)*150_000 + metering.Money(completion)*600_000 // gpt-4o-mini: $0.15 / $0.60 per 1M
		if got := batchCost(t, pricer, l.Model, l.Usage, 50); got != list/2 {
			t.Errorf("%s costs %v at batch price, want %v (half of %v)", l.CustomID, got, list/2, list)
		}
	}

	for _, who := range []struct {
		caller batchlane.Caller
		want   int
	}{{alice, 1}, {mallory, 0}} {
		_, body := p.do(who.caller, "GET", "/v1/batches", "limit=10", "", nil)
		if n := len(jsonx.Get(body, "data").Array()); n != who.want {
			t.Errorf("%s lists %d batches, want %d: %s", who.caller.Key, n, who.want, body)
		}
	}
	if status, _ := p.do(mallory, "DELETE", "/v1/files/"+fileID, "", "", nil); status != 404 {
		t.Errorf("mallory deleted alice's file: %d", status)
	}
	if status, _ := p.do(alice, "DELETE", "/v1/files/"+fileID, "", "", nil); status != 200 {
		t.Errorf("alice could not delete her file: %d", status)
	}
	if status, _ := p.do(alice, "GET", "/v1/files/"+fileID, "", "", nil); status != 404 {
		t.Errorf("a deleted file is still alice's: %d", status)
	}
}

func TestTheRecorderGetsWhatTheGatewayNeedsToMeterADeferredJobAtBatchPrice(t *testing.T) {
	fake := newFakeBatchAPI(t, 1)
	c, rec := startCollector(t, batchlane.Config{MaxRequests: 1}, fake, batchlane.Options{})
	id := submit(t, c, deferChat("gpt-4o-mini", "what does it cost?"))
	st := rec.wait(t, 1)[id]
	pricer := defaultPricer(t)
	got := batchCost(t, pricer, st.ServedModel, st.Usage, st.PricePercent)
	prompt, completion := fakeUsage("what does it cost?")
	list := metering.Money(prompt)*150_000 + metering.Money(completion)*600_000
	if got != batchlane.AtBatchPrice(list, 50) || st.PricePercent != 50 {
		t.Errorf("job costs %v at %d%%, want %v (half of list %v)", got, st.PricePercent, list/2, list)
	}
}
