package batchlane

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// enqueueBudget queues a rate_budget job.
func (c *Collector) enqueueBudget(j *job) error {
	c.mu.Lock()
	if err := c.admit(j, int64(len(j.d.Body))); err != nil {
		c.mu.Unlock()
		return err
	}
	c.queue = append(c.queue, j)
	c.mu.Unlock()
	signal(c.ready)
	return nil
}

// runBudget dispatches rate_budget jobs in arrival order: for each, it waits for a free
// worker slot (Config.Workers), then for the Budget to have room (asking again every
// Config.BudgetRecheck), then starts it. It stops when Close starts, waits for the
// running jobs, and fails those still queued.
func (c *Collector) runBudget() {
	defer c.budgetWG.Done()
	slots := make(chan struct{}, c.cfg.Workers)
	var running sync.WaitGroup
	defer func() {
		running.Wait()
		c.failQueued()
	}()
	recheck := time.NewTimer(time.Hour)
	defer recheck.Stop()
	for {
		select {
		case slots <- struct{}{}:
		case <-c.stopCtx.Done():
			return
		}
		j := c.popQueued()
		for j == nil {
			select {
			case <-c.ready:
				j = c.popQueued()
			case <-c.stopCtx.Done():
				return
			}
		}
		for !c.opts.Budget.Room() {
			recheck.Reset(c.cfg.BudgetRecheck)
			select {
			case <-recheck.C:
			case <-c.stopCtx.Done():
				c.requeue(j)
				return
			}
		}
		c.mu.Lock()
		j.st.State = StateSubmitted
		c.mu.Unlock()
		running.Add(1)
		go func() {
			defer running.Done()
			c.send(j)
			<-slots
		}()
	}
}

// popQueued takes the oldest queued job, or nil when there is none or Close started.
func (c *Collector) popQueued() *job {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 || c.closing {
		return nil
	}
	j := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	return j
}

// requeue puts a job taken by popQueued back at the head of the queue.
func (c *Collector) requeue(j *job) {
	c.mu.Lock()
	c.queue = append([]*job{j}, c.queue...)
	c.mu.Unlock()
}

// send runs one rate_budget job through the Sender and stores its answer.
func (c *Collector) send(j *job) {
	status, body, usage, err := c.opts.Sender.Send(c.workCtx, j.d)
	o := outcome{state: StateCompleted, httpStatus: status, response: bytes.Clone(body), usage: usage,
		servedModel: jsonx.Get(body, "model").String()}
	switch {
	case err != nil:
		o = failed(StateFailed, "sending the request failed: %v", err)
	case status >= 400:
		o.err = jsonx.Get(body, "error.message").String()
		if o.err == "" {
			o.err = fmt.Sprintf("the provider answered HTTP %d", status)
		}
	}
	c.settle([]*job{j}, []outcome{o})
}

// failQueued fails the jobs still queued when the Collector closes.
func (c *Collector) failQueued() {
	c.mu.Lock()
	jobs := c.queue
	c.queue = nil
	c.mu.Unlock()
	c.settle(jobs, allOutcomes(len(jobs), failed(StateFailed, "the gateway shut down before the request ran")))
}

func allOutcomes(n int, o outcome) []outcome {
	outs := make([]outcome, n)
	for i := range outs {
		outs[i] = o
	}
	return outs
}
