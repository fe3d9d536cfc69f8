package gateway

import "github.com/switchyard/switchyard/internal/provider"

// DeploymentFailures is the failures every deployment's health has recorded, summed.
func (g *Gateway) DeploymentFailures() int64 {
	g.health.mu.Lock()
	defer g.health.mu.Unlock()
	var n int64
	for _, h := range g.health.byID {
		n += h.Failures()
	}
	return n
}

// WrapTranslator replaces a provider's translator, to inject faults (a panic) in tests.
func (g *Gateway) WrapTranslator(name string, wrap func(provider.Translator) provider.Translator) {
	t := g.targets[name]
	t.tr = wrap(t.tr)
}
