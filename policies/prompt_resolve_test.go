package policies

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestPromptResolvePicksVersions(t *testing.T) {
	r := loadTestPrompts(t)
	tests := []struct {
		name       string
		ref        string
		attrs      ResolveAttrs
		want       string
		wantReason string
	}{
		{"an explicit version wins over every pin", "support-reply@3", ResolveAttrs{Feature: "checkout"}, "3", "version requested"},
		{"a label resolves through pins.yaml", "support-reply@canary", ResolveAttrs{}, "3", "label canary (pins.yaml:5)"},
		{"the built-in latest label is the highest version", "support-reply@latest", ResolveAttrs{}, "3", "label latest"},
		{"a feature pin fixes a version", "support-reply", ResolveAttrs{Feature: "checkout", Team: "growth"}, "1", "pin pins.yaml:9: support-reply@1"},
		{"a team pin follows a label", "support-reply", ResolveAttrs{Feature: "search", Team: "growth"}, "3", "pin pins.yaml:13: label canary, support-reply@3"},
		{"no matching pin falls back to the production label", "support-reply", ResolveAttrs{Feature: "search"}, "2", "label production (pins.yaml:4)"},
		{"no pin and no production label gives the latest version", "summarize", ResolveAttrs{}, "1.0.0", "no pin or production label: latest version"},
		{"a split arm says which share it is", "support-reply", ResolveAttrs{Feature: "help-center", StickyKey: stickyUserIn(t, r, "3")}, "3", "pin pins.yaml:17: split, support-reply@3 arm (10%)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := ParseRefHeader(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			v, reason, err := r.Resolve(ref, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if v.Version != tt.want || reason != tt.wantReason {
				t.Fatalf("got %s (%q), want %s (%q)", v.Ref, reason, tt.want, tt.wantReason)
			}
		})
	}
}

// stickyUserIn returns a user key the help-center split sends to version.
func stickyUserIn(t *testing.T, r *Registry, version string) string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("user-%d", i)
		v, _, _ := r.Resolve(Ref{ID: "support-reply"}, ResolveAttrs{Feature: "help-center", StickyKey: key})
		if v.Version == version {
			return key
		}
	}
	t.Fatalf("no user lands on %s", version)
	return ""
}

func TestPromptResolveRejectsUnknownReferences(t *testing.T) {
	r := loadTestPrompts(t)
	tests := []struct {
		name string
		ref  Ref
		want string
	}{
		{"an unknown prompt", Ref{ID: "nope"}, `prompt "nope": unknown prompt`},
		{"an unknown version", Ref{ID: "support-reply", Version: "9"}, `prompt "support-reply@9": unknown version`},
		{"an unknown label", Ref{ID: "support-reply", Label: "beta"}, `prompt "support-reply@beta": unknown label`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := r.Resolve(tt.ref, ResolveAttrs{})
			var re *RefError
			if !errors.As(err, &re) || err.Error() != tt.want {
				t.Fatalf("err = %v, want RefError %q", err, tt.want)
			}
		})
	}
}

func TestPromptSplitLandsWithinTwoPointsAndSticks(t *testing.T) {
	r := loadTestPrompts(t)
	const users = 10000
	counts := map[string]int{}
	for i := 0; i < users; i++ {
		attrs := ResolveAttrs{Feature: "help-center", StickyKey: fmt.Sprintf("user-%d", i)}
		first, _, err := r.Resolve(Ref{ID: "support-reply"}, attrs)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			again, _, _ := r.Resolve(Ref{ID: "support-reply"}, attrs)
			if again != first {
				t.Fatalf("user-%d got %s, then %s", i, first.Ref, again.Ref)
			}
		}
		counts[first.Version]++
	}
	share := 100 * float64(counts["3"]) / users
	if math.Abs(share-10) > 2 || counts["2"]+counts["3"] != users {
		t.Fatalf("canary share %.2f%% (counts %v), want 10 ± 2", share, counts)
	}
	t.Logf("canary share %.2f%%", share)
}

func TestPromptSplitBySessionUsesTheSessionKey(t *testing.T) {
	dir := writePrompts(t, map[string]string{"p1.yaml": okPrompt, "p2.yaml": strings.Replace(okPrompt, "version: 1", "version: 2", 1),
		PinsFileName: "pins:\n  - prompt: p\n    sticky: session\n    split: [{version: 1, weight: 50}, {version: 2, weight: 50}]\n"})
	r, err := LoadPrompts(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 64; i++ {
		a := ResolveAttrs{StickyKey: "same-user", Session: fmt.Sprintf("s-%d", i)}
		v, _, _ := r.Resolve(Ref{ID: "p"}, a)
		again, _, _ := r.Resolve(Ref{ID: "p"}, a)
		if v != again {
			t.Fatal("a session changed version")
		}
		seen[v.Version] = true
	}
	if len(seen) != 2 {
		t.Fatalf("one user's sessions all got %v; the session should key the split", seen)
	}
}

func TestPromptRefParsing(t *testing.T) {
	tests := []struct {
		name, header, object string
		want                 Ref
		wantErr              string
	}{
		{name: "a bare id from the header", header: "support-reply", want: Ref{ID: "support-reply"}},
		{name: "an id and version from the header", header: " support-reply@3 ", want: Ref{ID: "support-reply", Version: "3"}},
		{name: "a semver from the header", header: "summarize@1.0.0-rc.1", want: Ref{ID: "summarize", Version: "1.0.0-rc.1"}},
		{name: "an id and label from the header", header: "support-reply@canary", want: Ref{ID: "support-reply", Label: "canary"}},
		{name: "a header with nothing after @", header: "p@", wantErr: "nothing after @"},
		{name: "a header with a bad id", header: "a b@1", wantErr: "the id must be"},
		{name: "a header with a bad version", header: "p@1.x", wantErr: "the version must be"},
		{name: "a header with a bad label", header: "p@Canary", wantErr: "a label must be"},
		{name: "an object with a string version and variables", object: `{"id":"p","version":"3","variables":{"n":1,"s":"x"}}`,
			want: Ref{ID: "p", Version: "3", Variables: map[string]any{"n": 1.0, "s": "x"}}},
		{name: "an object with a numeric version", object: `{"id":"p","version":3}`, want: Ref{ID: "p", Version: "3"}},
		{name: "an object with a label and null variables", object: `{"id":"p","version":"production","variables":null}`, want: Ref{ID: "p", Label: "production"}},
		{name: "an object with an empty version", object: `{"id":"p","version":""}`, want: Ref{ID: "p"}},
		{name: "an object without an id", object: `{"version":"3"}`, wantErr: "prompt.id must be"},
		{name: "an object with array variables", object: `{"id":"p","variables":[1]}`, wantErr: "prompt.variables must be an object"},
		{name: "an object with a boolean version", object: `{"id":"p","version":true}`, wantErr: "prompt.version must be"},
		{name: "a string instead of an object", object: `"p@3"`, wantErr: "prompt must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Ref
			var err error
			if tt.object != "" {
				got, err = ParseRefObject([]byte(tt.object))
			} else {
				got, err = ParseRefHeader(tt.header)
			}
			if tt.wantErr != "" {
				var re *RefError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a RefError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPromptVersionsOrderLikeSemver(t *testing.T) {
	ordered := []string{"0.9", "1", "1.0.1", "1.2.0-alpha", "1.2.0-alpha.1", "1.2.0-alpha.beta", "1.2.0-beta.2", "1.2.0-beta.11", "1.2.0", "2", "10"}
	for i := 1; i < len(ordered); i++ {
		a, b := parseVersionKey(ordered[i-1]), parseVersionKey(ordered[i])
		if a.compare(b) >= 0 || b.compare(a) <= 0 {
			t.Errorf("%s should order before %s", ordered[i-1], ordered[i])
		}
	}
	if parseVersionKey("3").compare(parseVersionKey("3.0.0+build")) != 0 {
		t.Error("3 and 3.0.0+build should order the same")
	}
}
