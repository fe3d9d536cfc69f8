package batchlane

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// groupKey is what requests of one provider batch share: OpenAI requires one model and
// one endpoint per batch, and a batch goes to one provider.
type groupKey struct{ provider, model, endpoint string }

// pendingBatch is a batch still taking requests. Guarded by Collector.mu.
type pendingBatch struct {
	buf      []byte // the JSONL input so far
	jobs     []*job
	deadline time.Time // submitted at the latest then (MaxWait after its first request)
}

// phase is where a sealed provider batch is.
type phase uint8

const (
	phaseSubmit phase = iota // its file is to be uploaded and its batch created
	phasePoll                // created; its status is polled
)

// providerBatch is a sealed batch. Its membership in Collector.batches is guarded by
// Collector.mu; its fields after sealing are the batch loop's alone.
type providerBatch struct {
	key             groupKey
	name            string // the input file's name
	jsonl           []byte // the input, until uploaded
	jobs            []*job
	fileID, batchID string
	createTried     bool // a create was sent: look for its batch before sending another
	attempts        int  // failed submission attempts
	phase           phase
	due             time.Time // next attempt or poll
	deadline        time.Time // polling gives up then
}

// appendInputLine appends the batch input line for one request to dst. A body's raw line
// breaks can only be whitespace between tokens (JSON strings cannot hold them), so they
// become spaces and the line stays one line.
func appendInputLine(dst []byte, customID, endpoint string, body []byte) []byte {
	dst = append(dst, `{"custom_id":`...)
	dst = jsonx.Quote(dst, customID)
	dst = append(dst, `,"method":"POST","url":`...)
	dst = jsonx.Quote(dst, endpoint)
	dst = append(dst, `,"body":`...)
	start := len(dst)
	dst = append(dst, bytes.TrimSpace(body)...)
	for i := start; i < len(dst); i++ {
		if dst[i] == '\n' || dst[i] == '\r' {
			dst[i] = ' '
		}
	}
	return append(dst, "}\n"...)
}

// enqueueBatch adds j's input line to the pending batch of its group, sealing that batch
// when it is full.
func (c *Collector) enqueueBatch(j *job, d Deferred, line []byte) error {
	c.mu.Lock()
	if err := c.admit(j, int64(len(line))); err != nil {
		c.mu.Unlock()
		return err
	}
	k := groupKey{d.Provider, d.Model, j.st.Endpoint}
	p, wake := c.pending[k], false
	if p != nil && int64(len(p.buf)+len(line)) > c.cfg.MaxBatchBytes {
		c.seal(k, p)
		p = nil
	}
	if p == nil {
		p = &pendingBatch{deadline: time.Now().Add(c.cfg.MaxWait)}
		c.pending[k], wake = p, true
	}
	p.buf = append(p.buf, line...)
	p.jobs = append(p.jobs, j)
	if len(p.jobs) >= c.cfg.MaxRequests {
		c.seal(k, p)
	}
	c.mu.Unlock()
	if wake {
		signal(c.wake)
	}
	return nil
}

// seal closes a pending batch to new requests and hands it to the batch loop. Called
// with c.mu held; the caller wakes the loop.
func (c *Collector) seal(k groupKey, p *pendingBatch) {
	delete(c.pending, k)
	c.batches = append(c.batches, &providerBatch{key: k, jsonl: p.buf, jobs: p.jobs,
		name: "switchyard-" + newJobID()[len("sybatch_"):] + ".jsonl"})
	signal(c.wake)
}

// runBatches is the batch loop: it seals pending batches at their deadline, submits
// sealed ones, polls submitted ones and stores their results, sleeping until the next
// thing is due or it is woken. On Close it submits what is pending and returns.
func (c *Collector) runBatches() {
	defer close(c.loopDone)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := c.batchStep()
		if c.stopCtx.Err() != nil {
			c.closeBatches()
			return
		}
		t.Reset(time.Until(next))
		select {
		case <-c.wake:
		case <-t.C:
		case <-c.stopCtx.Done():
		}
	}
}

// batchStep does what is due now and returns when the next thing will be.
func (c *Collector) batchStep() time.Time {
	now := time.Now()
	c.mu.Lock()
	for k, p := range c.pending {
		if !now.Before(p.deadline) {
			c.seal(k, p)
		}
	}
	var due []*providerBatch
	for _, b := range c.batches {
		if !now.Before(b.due) {
			due = append(due, b)
		}
	}
	c.jobs.sweep(c.now(), c.cfg.ResultTTL)
	c.mu.Unlock()
	for _, b := range due {
		if c.stopCtx.Err() != nil {
			break
		}
		if b.phase == phaseSubmit {
			c.trySubmit(c.workCtx, b)
		} else {
			c.poll(b)
		}
	}
	next := time.Now().Add(time.Hour)
	c.mu.Lock()
	for _, p := range c.pending {
		next = earliest(next, p.deadline)
	}
	for _, b := range c.batches {
		next = earliest(next, b.due)
	}
	c.mu.Unlock()
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func (c *Collector) api(provider string) batchAPI {
	return batchAPI{up: c.opts.Upstreams[provider], timeout: c.cfg.RequestTimeout}
}

// trySubmit makes one attempt at uploading b's input and creating its batch. On success
// b is polled from then on; on a retryable failure it is tried again after a backoff
// (and trySubmit returns true); otherwise its jobs fail.
func (c *Collector) trySubmit(ctx context.Context, b *providerBatch) (retry bool) {
	err := c.submitOnce(ctx, b)
	now := time.Now()
	if err == nil {
		b.phase, b.jsonl, b.attempts = phasePoll, nil, 0
		b.due, b.deadline = now.Add(c.cfg.PollInterval), now.Add(c.cfg.CompletionWindow+c.cfg.PollGrace)
		var sts []Status
		c.mu.Lock()
		for _, j := range b.jobs {
			if j.st.State == StateQueued {
				j.st.State, j.st.BatchID = StateSubmitted, b.batchID
				c.jobs.resize(j, 0)
				sts = append(sts, j.st)
			}
		}
		c.mu.Unlock()
		c.share(ctx, c.liveTTL(), sts...)
		return false
	}
	b.attempts++
	if !retryable(err) || b.attempts >= c.cfg.SubmitAttempts {
		c.abandon(b, failed(StateFailed, "submitting the batch to %s failed: %v", b.key.provider, err))
		return false
	}
	b.due = now.Add(min(time.Second<<(b.attempts-1), c.cfg.PollInterval))
	c.log.Warn("batch lane: submitting a batch failed; will retry", "provider", b.key.provider,
		"attempt", b.attempts, "err", err)
	return true
}

// submitOnce uploads b's input (unless already uploaded) and creates its batch. After a
// create whose answer was lost it first looks for the batch that create may have made,
// so a retry never starts (and bills) the same work twice.
func (c *Collector) submitOnce(ctx context.Context, b *providerBatch) error {
	api := c.api(b.key.provider)
	if b.fileID == "" {
		id, err := api.uploadFile(ctx, b.name, b.jsonl)
		if err != nil {
			return err
		}
		b.fileID = id
	}
	if b.createTried {
		found, ok, err := api.findBatch(ctx, b.fileID)
		if err != nil {
			return err
		}
		if ok {
			b.batchID = found.ID
			return nil
		}
	}
	b.createTried = true
	obj, err := api.createBatch(ctx, b.fileID, b.key.endpoint, c.cfg.CompletionWindow)
	if err != nil {
		return err
	}
	b.batchID = obj.ID
	return nil
}

// poll fetches b's status and, once the batch is over, collects its results.
func (c *Collector) poll(b *providerBatch) {
	ctx, api := c.stopCtx, c.api(b.key.provider)
	obj, err := api.getBatch(ctx, b.batchID)
	if err != nil {
		var ae *APIError
		switch {
		case ctx.Err() != nil: // closing
		case errors.As(err, &ae) && ae.Status == 404:
			c.finishBatch(b, allOf(b, failed(StateFailed, "batch %s is gone from %s", b.batchID, b.key.provider)))
		default:
			c.log.Warn("batch lane: polling a batch failed", "provider", b.key.provider, "batch", b.batchID, "err", err)
			c.pollLater(b)
		}
		return
	}
	switch obj.Status {
	case "failed":
		c.finishBatch(b, allOf(b, failed(StateFailed, "the provider failed batch %s: %s", b.batchID, obj.errorText())))
	case "completed", "expired", "cancelled":
		lines, err := c.download(ctx, api, obj)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("batch lane: downloading batch results failed", "provider", b.key.provider, "batch", b.batchID, "err", err)
				c.pollLater(b)
			}
			return
		}
		outs := make([]outcome, len(b.jobs))
		for i, j := range b.jobs {
			outs[i] = outcomeOf(lines, j.st.JobID, obj)
		}
		c.finishBatch(b, outs, obj.OutputFileID, obj.ErrorFileID)
	default: // validating, in_progress, finalizing, cancelling
		c.pollLater(b)
	}
}

// pollLater schedules b's next poll, or expires its jobs once polling is past its deadline.
func (c *Collector) pollLater(b *providerBatch) {
	now := time.Now()
	if now.After(b.deadline) {
		c.finishBatch(b, allOf(b, failed(StateExpired,
			"batch %s gave no result within the completion window (%v) and poll grace (%v)", b.batchID, c.cfg.CompletionWindow, c.cfg.PollGrace)))
		return
	}
	b.due = now.Add(c.cfg.PollInterval)
}

// download fetches and parses a finished batch's output and error files, by custom_id.
// A malformed line is logged and skipped: its job then gets "no result".
func (c *Collector) download(ctx context.Context, api batchAPI, obj batchObject) (map[string]ResultLine, error) {
	lines := map[string]ResultLine{}
	for _, id := range []string{obj.OutputFileID, obj.ErrorFileID} {
		if id == "" {
			continue
		}
		data, err := api.fileContent(ctx, id)
		if err != nil {
			return nil, err
		}
		parsed, err := ParseResults(data)
		if err != nil {
			c.log.Warn("batch lane: malformed lines in batch results", "batch", obj.ID, "file", id, "err", err)
		}
		for _, l := range parsed {
			lines[l.CustomID] = l
		}
	}
	return lines, nil
}

// outcomeOf decides how the job with custom_id id ended, from its result line if any.
func outcomeOf(lines map[string]ResultLine, id string, obj batchObject) outcome {
	l, ok := lines[id]
	switch {
	case ok && l.StatusCode > 0:
		return outcome{state: StateCompleted, httpStatus: l.StatusCode, response: bytes.Clone(l.Body),
			servedModel: l.Model, usage: l.Usage, err: l.ErrorMessage}
	case ok && l.ErrorCode == "batch_expired":
		return failed(StateExpired, "%s", l.ErrorMessage)
	case ok:
		return failed(StateFailed, "%s (%s)", l.ErrorMessage, l.ErrorCode)
	case obj.Status == "expired":
		return failed(StateExpired, "batch %s expired before this request ran", obj.ID)
	case obj.Status == "cancelled":
		return failed(StateFailed, "batch %s was cancelled before this request ran", obj.ID)
	}
	return failed(StateFailed, "batch %s has no result for this request", obj.ID)
}

func allOf(b *providerBatch, o outcome) []outcome { return allOutcomes(len(b.jobs), o) }

// finishBatch settles b's jobs, forgets b and deletes its files at the provider (unless
// KeepFiles), best effort.
func (c *Collector) finishBatch(b *providerBatch, outs []outcome, resultFiles ...string) {
	c.mu.Lock()
	if i := slices.Index(c.batches, b); i >= 0 {
		c.batches = slices.Delete(c.batches, i, i+1)
	}
	c.mu.Unlock()
	c.settle(b.jobs, outs)
	if c.cfg.KeepFiles {
		return
	}
	api := c.api(b.key.provider)
	for _, id := range append([]string{b.fileID}, resultFiles...) {
		if id == "" {
			continue
		}
		if err := api.deleteFile(c.stopCtx, id); err != nil && c.stopCtx.Err() == nil {
			c.log.Warn("batch lane: deleting a batch file failed", "provider", b.key.provider, "file", id, "err", err)
		}
	}
}

// abandon fails every job of a batch that could not be submitted.
func (c *Collector) abandon(b *providerBatch, o outcome) {
	c.log.Warn("batch lane: batch not submitted; its jobs fail", "provider", b.key.provider,
		"jobs", len(b.jobs), "reason", o.err)
	c.finishBatch(b, allOf(b, o))
}

// closeBatches runs once Close started: it seals every pending batch and submits every
// batch not yet submitted, retrying within Close's context; what cannot be submitted
// fails.
func (c *Collector) closeBatches() {
	c.mu.Lock()
	for k, p := range c.pending {
		c.seal(k, p)
	}
	var todo []*providerBatch
	for _, b := range c.batches {
		if b.phase == phaseSubmit {
			todo = append(todo, b)
		}
	}
	c.mu.Unlock()
	for _, b := range todo {
		for {
			if c.workCtx.Err() != nil {
				c.abandon(b, failed(StateFailed, "the gateway shut down before the batch was submitted"))
				break
			}
			if !c.trySubmit(c.workCtx, b) {
				break
			}
			t := time.NewTimer(time.Until(b.due))
			select {
			case <-t.C:
			case <-c.workCtx.Done():
			}
			t.Stop()
		}
	}
}
