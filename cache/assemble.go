package cache

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/provider"
)

// ErrIncomplete is returned by Assembler.Result when the stream did not finish normally:
// no [DONE], a choice without finish_reason, or no choice at all. Such a stream is never
// stored.
var ErrIncomplete = errors.New("cache: stream did not complete")

// ErrStreamFailed is returned by Assembler.Result when an event carried an error.
var ErrStreamFailed = errors.New("cache: stream reported an error")

// Assembler rebuilds the non-stream response from a stream of OpenAI chunks: chat
// (chat.completion.chunk, with tool_call fragments, refusals and logprobs) or legacy
// completions (text_completion). Feed it the data of every event the client was sent
// (or the upstream sent, before the usage chunk is dropped), then call Result. It is
// used by one goroutine and costs one copy of the streamed text.
type Assembler struct {
	id, model, fingerprint, tier string
	created                      int64
	legacy                       bool // text_completion chunks
	choices                      []*choiceAcc
	usage                        []byte // the usage object as sent, copied
	setUsage                     provider.Usage
	done, failed                 bool
}

type choiceAcc struct {
	index                       int64
	role                        string
	content, refusal, reasoning strings.Builder
	hasContent                  bool
	tools                       []*toolAcc
	finish                      string
	logprobs                    [][]byte // logprobs.content items, copied
	hasLogprobs                 bool
}

type toolAcc struct {
	index         int64
	id, typ, name string
	args          strings.Builder
}

// NewAssembler returns an empty Assembler.
func NewAssembler() *Assembler { return &Assembler{} }

// Add consumes one event's data ("[DONE]" included). It never fails: malformed events
// mark the stream as failed, which Result reports.
func (a *Assembler) Add(data []byte) {
	if string(data) == "[DONE]" {
		a.done = true
		return
	}
	if !jsonx.Valid(data) {
		a.failed = true
		return
	}
	root := jsonx.Get(data, "@this")
	if root.Get("error").Exists() {
		a.failed = true
		return
	}
	if a.id == "" {
		a.id = root.Get("id").Str
	}
	if a.model == "" {
		a.model = root.Get("model").Str
	}
	if a.created == 0 {
		a.created = root.Get("created").Int()
	}
	if a.fingerprint == "" {
		a.fingerprint = root.Get("system_fingerprint").Str
	}
	if a.tier == "" {
		a.tier = root.Get("service_tier").Str
	}
	if root.Get("object").Str == "text_completion" {
		a.legacy = true
	}
	if u := root.Get("usage"); u.IsObject() {
		a.usage = append(a.usage[:0], u.Raw...)
	}
	root.Get("choices").ForEach(func(_, c jsonx.Result) bool {
		a.addChoice(c)
		return true
	})
}

func (a *Assembler) choice(index int64) *choiceAcc {
	for _, c := range a.choices {
		if c.index == index {
			return c
		}
	}
	c := &choiceAcc{index: index}
	a.choices = append(a.choices, c)
	return c
}

func (a *Assembler) addChoice(r jsonx.Result) {
	c := a.choice(r.Get("index").Int())
	if f := r.Get("finish_reason"); f.Type == jsonx.String {
		c.finish = f.Str
	}
	if lp := r.Get("logprobs"); lp.IsObject() {
		c.hasLogprobs = true
		lp.Get("content").ForEach(func(_, item jsonx.Result) bool {
			c.logprobs = append(c.logprobs, []byte(item.Raw))
			return true
		})
	}
	if a.legacy || r.Get("text").Exists() {
		if t := r.Get("text"); t.Type == jsonx.String {
			c.content.WriteString(t.Str)
			c.hasContent = true
		}
		return
	}
	d := r.Get("delta")
	if role := d.Get("role").Str; role != "" {
		c.role = role
	}
	if t := d.Get("content"); t.Type == jsonx.String {
		c.content.WriteString(t.Str)
		c.hasContent = true
	}
	if t := d.Get("refusal"); t.Type == jsonx.String {
		c.refusal.WriteString(t.Str)
	}
	if t := d.Get("reasoning_content"); t.Type == jsonx.String {
		c.reasoning.WriteString(t.Str)
	}
	d.Get("tool_calls").ForEach(func(_, tc jsonx.Result) bool {
		c.addTool(tc)
		return true
	})
}

func (c *choiceAcc) addTool(tc jsonx.Result) {
	idx := tc.Get("index").Int()
	var t *toolAcc
	for _, x := range c.tools {
		if x.index == idx {
			t = x
		}
	}
	if t == nil {
		t = &toolAcc{index: idx}
		c.tools = append(c.tools, t)
	}
	if s := tc.Get("id").Str; s != "" {
		t.id = s
	}
	if s := tc.Get("type").Str; s != "" {
		t.typ = s
	}
	if s := tc.Get("function.name").Str; s != "" {
		t.name += s
	}
	t.args.WriteString(tc.Get("function.arguments").Str)
}

// SetUsage supplies usage when the stream's usage chunk was not fed to Add (the gateway
// dropped it because the client did not ask); it is ignored when a usage chunk was seen.
func (a *Assembler) SetUsage(u provider.Usage) { a.setUsage = u }

// Result returns the assembled non-stream response JSON and its usage, or ErrIncomplete /
// ErrStreamFailed when the stream must not be stored.
func (a *Assembler) Result() ([]byte, provider.Usage, error) {
	if a.failed {
		return nil, provider.Usage{}, ErrStreamFailed
	}
	if !a.done || len(a.choices) == 0 {
		return nil, provider.Usage{}, ErrIncomplete
	}
	for _, c := range a.choices {
		if c.finish == "" {
			return nil, provider.Usage{}, ErrIncomplete
		}
	}
	slices.SortFunc(a.choices, func(x, y *choiceAcc) int { return int(x.index - y.index) })
	object := "chat.completion"
	if a.legacy {
		object = "text_completion"
	}
	b := make([]byte, 0, 256+a.textLen())
	b = append(b, `{"id":`...)
	b = jsonx.Quote(b, a.id)
	b = append(b, `,"object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, a.created, 10)
	b = append(b, `,"model":`...)
	b = jsonx.Quote(b, a.model)
	b = append(b, `,"choices":[`...)
	for i, c := range a.choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = c.appendJSON(b, a.legacy)
	}
	b = append(b, ']')
	usage := a.usageJSON()
	if usage != nil {
		b = append(b, `,"usage":`...)
		b = append(b, usage...)
	}
	if a.tier != "" {
		b = append(b, `,"service_tier":`...)
		b = jsonx.Quote(b, a.tier)
	}
	if a.fingerprint != "" {
		b = append(b, `,"system_fingerprint":`...)
		b = jsonx.Quote(b, a.fingerprint)
	}
	b = append(b, '}')
	return b, provider.OpenAIUsage(jsonx.Get(b, "usage")), nil
}

func (a *Assembler) textLen() int {
	n := 0
	for _, c := range a.choices {
		n += c.content.Len() + c.refusal.Len() + 64
		for _, t := range c.tools {
			n += t.args.Len() + 96
		}
	}
	return n
}

// usageJSON returns the usage object: as streamed, or built from SetUsage, or nil.
func (a *Assembler) usageJSON() []byte {
	if a.usage != nil {
		return a.usage
	}
	u := a.setUsage
	if !u.Reported {
		return nil
	}
	b := []byte(`{"prompt_tokens":`)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens+u.OutputTokens, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedInputTokens, 10)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	return append(b, `}}`...)
}

// appendJSON appends the choice in non-stream form.
func (c *choiceAcc) appendJSON(b []byte, legacy bool) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, c.index, 10)
	if legacy {
		b = append(b, `,"text":`...)
		b = jsonx.Quote(b, c.content.String())
	} else {
		b = append(b, `,"message":{"role":`...)
		role := c.role
		if role == "" {
			role = "assistant"
		}
		b = jsonx.Quote(b, role)
		b = append(b, `,"content":`...)
		if c.hasContent || len(c.tools) == 0 {
			b = jsonx.Quote(b, c.content.String())
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"refusal":`...)
		if c.refusal.Len() > 0 {
			b = jsonx.Quote(b, c.refusal.String())
		} else {
			b = append(b, "null"...)
		}
		if c.reasoning.Len() > 0 {
			b = append(b, `,"reasoning_content":`...)
			b = jsonx.Quote(b, c.reasoning.String())
		}
		if len(c.tools) > 0 {
			b = c.appendTools(b)
		}
		b = append(b, '}')
	}
	b = append(b, `,"logprobs":`...)
	if c.hasLogprobs {
		b = append(b, `{"content":[`...)
		for i, item := range c.logprobs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, item...)
		}
		b = append(b, "]}"...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"finish_reason":`...)
	b = jsonx.Quote(b, c.finish)
	return append(b, '}')
}

func (c *choiceAcc) appendTools(b []byte) []byte {
	slices.SortFunc(c.tools, func(x, y *toolAcc) int { return int(x.index - y.index) })
	b = append(b, `,"tool_calls":[`...)
	for i, t := range c.tools {
		if i > 0 {
			b = append(b, ',')
		}
		typ := t.typ
		if typ == "" {
			typ = "function"
		}
		b = append(b, `{"id":`...)
		b = jsonx.Quote(b, t.id)
		b = append(b, `,"type":`...)
		b = jsonx.Quote(b, typ)
		b = append(b, `,"function":{"name":`...)
		b = jsonx.Quote(b, t.name)
		b = append(b, `,"arguments":`...)
		b = jsonx.Quote(b, t.args.String())
		b = append(b, "}}"...)
	}
	return append(b, ']')
}
