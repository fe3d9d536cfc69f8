package telemetry

// Labels are the values the metrics' client-influenced labels may take: model names
// (gen_ai.request.model and gen_ai.response.model), features (switchyard.feature) and
// teams (switchyard.team). Any other non-empty value is recorded as OtherValue, so
// neither a "*" model passing arbitrary names through nor attribution headers can create
// metric series without bound: the series of one instrument are at most the product of
// configured values, plus one "_OTHER" per label. Spans, cost events and the ledger keep
// the real values.
//
// A Labels is immutable once built and safe for concurrent use; the gateway builds a new
// one whenever the configuration or the policy changes and hands it to SetLabels.
type Labels struct {
	models, features, teams map[string]struct{}
}

// OtherValue is what a metric label becomes when its value is not a configured one (the
// semantic conventions' well-known fallback value).
const OtherValue = otherValue

// NewLabels returns the label sets of the given known values. Duplicates and empty
// strings are harmless; the slices are not retained.
func NewLabels(models, features, teams []string) *Labels {
	return &Labels{models: toSet(models), features: toSet(features), teams: toSet(teams)}
}

func toSet(vals []string) map[string]struct{} {
	s := make(map[string]struct{}, len(vals))
	for _, v := range vals {
		if v != "" {
			s[v] = struct{}{}
		}
	}
	return s
}

// Model returns name as a metric label: itself when known or empty, else OtherValue.
func (l *Labels) Model(name string) string { return fold(l.models, name) }

// Feature returns feature as a metric label, as Model does.
func (l *Labels) Feature(feature string) string { return fold(l.features, feature) }

// Team returns team as a metric label, as Model does.
func (l *Labels) Team(team string) string { return fold(l.teams, team) }

// Len returns how many distinct models, features and teams l knows.
func (l *Labels) Len() (models, features, teams int) {
	return len(l.models), len(l.features), len(l.teams)
}

func fold(set map[string]struct{}, v string) string {
	if v == "" {
		return ""
	}
	if _, ok := set[v]; ok {
		return v
	}
	return otherValue
}

// SetLabels replaces the known label values the metrics of requests ending from now on
// are folded with; nil (and a Telemetry on which SetLabels was never called) records
// every label as given — which is for tests and embedders that bound labels themselves,
// not for a gateway fed by clients. Safe to call concurrently with requests; a no-op
// on a disabled Telemetry.
func (t *Telemetry) SetLabels(l *Labels) {
	if !t.Enabled() {
		return
	}
	t.labels.Store(l)
}
