package batchlane

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
)

// Upload describes a multipart file upload (POST /v1/files) without changing it, so that
// policy can check a batch input before it reaches the provider: the models it would run
// bypass the gateway's routing, and its cost is only known when the results come back.
type Upload struct {
	// Purpose is the form's purpose field ("batch", "fine-tune", …).
	Purpose string
	// Filename is the file part's file name.
	Filename string
	// Requests is the number of non-blank lines of a batch input; 0 for other purposes.
	Requests int
	// Models and Endpoints are the distinct body.model and url values of the batch
	// input's lines, sorted.
	Models, Endpoints []string
}

// ErrBadUpload wraps every reason InspectUpload refuses an upload: answer 400.
var ErrBadUpload = errors.New("batchlane: bad file upload")

// InspectUpload reads a multipart/form-data upload: its purpose, its file name and, for
// purpose "batch", the models and endpoints of its JSONL lines. A batch input with a
// line that is not a JSON object with custom_id, method, url and body is refused, as the
// provider would refuse it, but later and after the upload. body is not modified or kept.
func InspectUpload(contentType string, body []byte) (Upload, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return Upload{}, fmt.Errorf("%w: content type must be multipart/form-data with a boundary", ErrBadUpload)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var up Upload
	var file []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Upload{}, fmt.Errorf("%w: %v", ErrBadUpload, err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return Upload{}, fmt.Errorf("%w: %v", ErrBadUpload, err)
		}
		switch part.FormName() {
		case "purpose":
			up.Purpose = string(data)
		case "file":
			up.Filename, file = part.FileName(), data
		}
	}
	if file == nil || up.Purpose == "" {
		return Upload{}, fmt.Errorf("%w: the form needs a purpose and a file", ErrBadUpload)
	}
	if up.Purpose != "batch" {
		return up, nil
	}
	return up, inspectInput(&up, file)
}

// inspectInput counts a batch input's lines and collects their models and endpoints.
func inspectInput(up *Upload, jsonl []byte) error {
	models, endpoints := map[string]bool{}, map[string]bool{}
	for n, line := range bytes.Split(jsonl, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !jsonx.Valid(line) {
			return fmt.Errorf("%w: line %d is not a JSON object", ErrBadUpload, n+1)
		}
		doc := jsonx.View(line)
		url, body := doc.Get("url").String(), doc.Get("body")
		if doc.Get("custom_id").String() == "" || doc.Get("method").String() == "" || url == "" || !body.IsObject() {
			return fmt.Errorf("%w: line %d needs custom_id, method, url and a body object", ErrBadUpload, n+1)
		}
		up.Requests++
		endpoints[strings.Clone(url)] = true
		models[strings.Clone(body.Get("model").String())] = true
	}
	up.Models, up.Endpoints = sortedKeys(models), sortedKeys(endpoints)
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
