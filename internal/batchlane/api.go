package batchlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/url"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// Upstream is one provider's OpenAI-compatible files and batches API, as the Collector
// calls it in provider_batch mode.
type Upstream struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1.
	BaseURL string
	// Header is sent on every call: the provider's credentials, organisation and the like.
	Header []provider.Header
	// Doer sends the calls.
	Doer Doer
}

// APIError is an error answer (not 2xx) from a provider's files or batches API.
type APIError struct {
	// Op is what was asked: "upload file", "create batch", "retrieve batch", ….
	Op string
	// Status is the HTTP status of the answer.
	Status int
	// Message is the error envelope's message, or the start of the body.
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: provider answered HTTP %d: %s", e.Op, e.Status, e.Message)
}

// retryable reports whether a failed provider call may succeed when tried again: a
// transport failure, a timeout, or a 408, 409, 429 or 5xx answer. A cancelled context
// and other answers are final. This is the one place calls are classified.
func retryable(err error) bool {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae.Status == 408 || ae.Status == 409 || ae.Status == 429 || ae.Status >= 500
	case errors.Is(err, context.Canceled):
		return false
	}
	return true
}

// batchObject is the part of an OpenAI batch object the Collector reads.
type batchObject struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	InputFileID  string `json:"input_file_id"`
	OutputFileID string `json:"output_file_id"`
	ErrorFileID  string `json:"error_file_id"`
	Errors       *struct {
		Data []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Line    *int   `json:"line"`
		} `json:"data"`
	} `json:"errors"`
}

// errorText summarises a failed batch's errors (the first three).
func (b *batchObject) errorText() string {
	if b.Errors == nil || len(b.Errors.Data) == 0 {
		return "the provider failed the batch without saying why"
	}
	var buf bytes.Buffer
	for i, e := range b.Errors.Data {
		if i == 3 {
			fmt.Fprintf(&buf, "; and %d more", len(b.Errors.Data)-3)
			break
		}
		if i > 0 {
			buf.WriteString("; ")
		}
		if e.Line != nil {
			fmt.Fprintf(&buf, "line %d: ", *e.Line)
		}
		buf.WriteString(e.Message)
		if e.Code != "" {
			fmt.Fprintf(&buf, " (%s)", e.Code)
		}
	}
	return buf.String()
}

// batchAPI calls one provider's files and batches endpoints, each call bounded by timeout.
type batchAPI struct {
	up      Upstream
	timeout time.Duration
}

// call sends one request and returns the body of a 2xx answer, or an error: an
// *APIError for any other answer, the Doer's error when none came.
func (a batchAPI) call(ctx context.Context, op, method, path, contentType string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req := &Request{Method: method, URL: a.up.BaseURL + path, Body: body,
		Header: append(make([]provider.Header, 0, len(a.up.Header)+1), a.up.Header...)}
	if contentType != "" {
		req.Header = append(req.Header, provider.Header{Key: "Content-Type", Value: contentType})
	}
	resp, err := a.up.Doer.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		msg := jsonx.Get(resp.Body, "error.message").String()
		if msg == "" {
			msg = string(resp.Body[:min(len(resp.Body), 200)])
		}
		return nil, &APIError{Op: op, Status: resp.Status, Message: msg}
	}
	return resp.Body, nil
}

// uploadFile uploads jsonl as a batch input file named name and returns its file id.
func (a batchAPI) uploadFile(ctx context.Context, name string, jsonl []byte) (string, error) {
	var buf bytes.Buffer
	buf.Grow(len(jsonl) + 512)
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("purpose", "batch") // writes to a bytes.Buffer cannot fail
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(jsonl)
	_ = mw.Close()
	body, err := a.call(ctx, "upload file", "POST", "/files", mw.FormDataContentType(), buf.Bytes())
	if err != nil {
		return "", err
	}
	id := jsonx.Get(body, "id").String()
	if !validID(id) {
		return "", fmt.Errorf("upload file: the answer has no usable id: %.200s", body)
	}
	return id, nil
}

// createBatch creates a batch job over the uploaded input file.
func (a batchAPI) createBatch(ctx context.Context, fileID, endpoint string, window time.Duration) (batchObject, error) {
	req, _ := jsonx.Marshal(map[string]any{ // a map of strings always encodes
		"input_file_id":     fileID,
		"endpoint":          endpoint,
		"completion_window": strconv.Itoa(int(window/time.Hour)) + "h",
		"metadata":          map[string]string{"created_by": "switchyard"},
	})
	body, err := a.call(ctx, "create batch", "POST", "/batches", "application/json", req)
	if err != nil {
		return batchObject{}, err
	}
	return decodeBatch("create batch", body)
}

// findBatch looks, among the most recent batches, for one created from fileID: a create
// whose answer was lost may still have made it.
func (a batchAPI) findBatch(ctx context.Context, fileID string) (batchObject, bool, error) {
	body, err := a.call(ctx, "list batches", "GET", "/batches?limit=100", "", nil)
	if err != nil {
		return batchObject{}, false, err
	}
	var list struct {
		Data []batchObject `json:"data"`
	}
	if err := jsonx.Unmarshal(body, &list); err != nil {
		return batchObject{}, false, fmt.Errorf("list batches: %w", err)
	}
	for _, b := range list.Data {
		if b.InputFileID == fileID && validID(b.ID) {
			return b, true, nil
		}
	}
	return batchObject{}, false, nil
}

// getBatch retrieves a batch's current state.
func (a batchAPI) getBatch(ctx context.Context, id string) (batchObject, error) {
	body, err := a.call(ctx, "retrieve batch", "GET", "/batches/"+url.PathEscape(id), "", nil)
	if err != nil {
		return batchObject{}, err
	}
	return decodeBatch("retrieve batch", body)
}

// fileContent downloads a file's content.
func (a batchAPI) fileContent(ctx context.Context, id string) ([]byte, error) {
	return a.call(ctx, "download file", "GET", "/files/"+url.PathEscape(id)+"/content", "", nil)
}

// deleteFile deletes a file.
func (a batchAPI) deleteFile(ctx context.Context, id string) error {
	_, err := a.call(ctx, "delete file", "DELETE", "/files/"+url.PathEscape(id), "", nil)
	return err
}

func decodeBatch(op string, body []byte) (batchObject, error) {
	var b batchObject
	if err := jsonx.Unmarshal(body, &b); err != nil {
		return batchObject{}, fmt.Errorf("%s: %w", op, err)
	}
	if !validID(b.ID) {
		return batchObject{}, fmt.Errorf("%s: the answer has no usable batch id: %.200s", op, body)
	}
	return b, nil
}
