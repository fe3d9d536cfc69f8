package batchlane

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/internal/provider"
)

// State is where a deferred job is.
type State string

// States. Completed, failed and expired are final.
const (
	// StateQueued: accepted, waiting in a pending batch (provider_batch) or for budget
	// room (rate_budget).
	StateQueued State = "queued"
	// StateSubmitted: part of a provider batch (provider_batch), or being sent (rate_budget).
	StateSubmitted State = "submitted"
	// StateCompleted: the provider answered; HTTPStatus and Response hold its answer,
	// which may itself be an error answer (a 400 for a bad request, say).
	StateCompleted State = "completed"
	// StateFailed: the request got no answer: the batch failed or was cancelled, the
	// submission failed, or the request could not be sent. Error says why.
	StateFailed State = "failed"
	// StateExpired: the provider's completion window closed before the request ran.
	StateExpired State = "expired"
)

// Final reports whether s is a final state.
func (s State) Final() bool { return s == StateCompleted || s == StateFailed || s == StateExpired }

// Status is a snapshot of one deferred job.
type Status struct {
	// JobID is the id the client got ("sybatch_…").
	JobID string
	State State
	// Lane is how the job runs: provider_batch or rate_budget.
	Lane Mode
	// Provider, Model, Endpoint, Key, Team and Feature are the Deferred's, for
	// attribution and for checking that whoever fetches the job is its owner.
	Provider, Model, Endpoint string
	Key, Team, Feature        string
	// BatchID is the provider's batch id once the job is in a submitted batch.
	BatchID string
	// HTTPStatus is the status of the provider's answer; 0 until completed.
	HTTPStatus int
	// Response is the provider's answer body, as a synchronous call would have returned
	// it (an OpenAI chat.completion, say). Shared: callers must not modify it.
	Response []byte
	// ServedModel is the answer's model field.
	ServedModel string
	// Usage is the answer's usage.
	Usage provider.Usage
	// PricePercent is the share of list price this job's tokens cost: Config.PricePercent
	// in provider_batch mode, 100 in rate_budget mode (see AtBatchPrice).
	PricePercent int
	// Error says why a job failed or expired, or what error the provider answered.
	Error string
	// CreatedAt is when Submit accepted the job; FinishedAt when it reached a final state.
	CreatedAt, FinishedAt time.Time
}

// job is one deferred request in the table.
type job struct {
	st   Status
	size int64    // bytes accounted to the table for this job
	d    Deferred // rate_budget: what to send, Body a copy held until the job ends
}

// jobTable holds the jobs, bounded by count and bytes; finished jobs leave it ResultTTL
// after they finished. Not safe for concurrent use: the Collector's mutex guards it.
type jobTable struct {
	m        map[string]*job
	finished []*job // in finishing order, for the TTL sweep
	bytes    int64
}

// resize changes the bytes accounted to j.
func (t *jobTable) resize(j *job, size int64) {
	t.bytes += size - j.size
	j.size = size
}

// outcome is how a job ended.
type outcome struct {
	state       State
	httpStatus  int
	response    []byte // owned by the job from now on
	servedModel string
	usage       provider.Usage
	err         string
}

// failed is the outcome of a job that got no answer.
func failed(state State, format string, a ...any) outcome {
	return outcome{state: state, err: fmt.Sprintf(format, a...)}
}

// finish moves j to its final outcome o at now, and reports false when j was final
// already.
func (t *jobTable) finish(j *job, o outcome, now time.Time) bool {
	if j.st.State.Final() {
		return false
	}
	j.st.State, j.st.HTTPStatus, j.st.Response = o.state, o.httpStatus, o.response
	j.st.ServedModel, j.st.Usage, j.st.Error = o.servedModel, o.usage, o.err
	j.st.FinishedAt = now
	j.d.Body = nil
	t.resize(j, int64(len(o.response)))
	t.finished = append(t.finished, j)
	return true
}

// sweep drops the finished jobs older than ttl at now.
func (t *jobTable) sweep(now time.Time, ttl time.Duration) {
	i := 0
	for ; i < len(t.finished) && now.Sub(t.finished[i].st.FinishedAt) > ttl; i++ {
		j := t.finished[i]
		t.resize(j, 0)
		delete(t.m, j.st.JobID)
		t.finished[i] = nil
	}
	t.finished = t.finished[i:]
}

// jobIDEncoding spells job ids in lower-case base32 without padding.
var jobIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newJobID returns "sybatch_" and 128 random bits: unguessable, so a job id alone does
// not let another tenant find a job (the gateway still checks the key).
func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "sybatch_" + jobIDEncoding.EncodeToString(b[:])
}
