package gateway

import (
	"fmt"

	"github.com/switchyard/switchyard/internal/config"
	"github.com/switchyard/switchyard/internal/provider"
	"github.com/switchyard/switchyard/internal/upstream"
)

// target is one provider the gateway can send to: its translator and its client.
type target struct {
	name   string
	kind   string
	tr     provider.Translator
	client *upstream.Client
}

// modelRoute is where one public model name goes.
type modelRoute struct {
	public   string // the configured name ("*" for passthrough)
	upstream string // the provider's model name; "" means the client's name unchanged
	target   *target
}

// modelTable resolves client model names. It is immutable after construction.
type modelTable struct {
	byName   map[string]*modelRoute
	wildcard *modelRoute
	names    []string // public names and aliases, for /v1/models
}

func newModelTable(models []config.Model, targets map[string]*target) (*modelTable, error) {
	mt := &modelTable{byName: map[string]*modelRoute{}}
	for _, m := range models {
		t, ok := targets[m.Provider]
		if !ok {
			return nil, fmt.Errorf("model %q: unknown provider %q", m.Name, m.Provider)
		}
		r := &modelRoute{public: m.Name, upstream: m.UpstreamModel, target: t}
		if m.Name == "*" {
			mt.wildcard = r
			continue
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			mt.byName[n] = r
			mt.names = append(mt.names, n)
		}
	}
	return mt, nil
}

// resolve returns the route for a client model name and the upstream model name.
func (mt *modelTable) resolve(model string) (*modelRoute, string, bool) {
	if r, ok := mt.byName[model]; ok {
		return r, r.upstream, true
	}
	if mt.wildcard != nil {
		return mt.wildcard, model, true
	}
	return nil, "", false
}
