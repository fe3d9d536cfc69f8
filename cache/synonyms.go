package cache

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// The built-in lexicon: words that the semantic layer compares as another word, so that
// "purchase a used automobile" and "buy a used car" are the same question. It is English
// and deliberately small. A word belongs here only when swapping it for its canonical
// word never changes what a question asks, in any sense of the word that a question is
// likely to use: "quit" and "stop", yes; "make" and "create" no ("make money" is not
// "create money"); "sign" and "symptom" no ("what does this sign mean"). Past forms are
// left out on purpose ("chased" is not "chase": the passive voice swaps who does what).
//
// Each line is "canonical: word word ...". A canonical word may be in a critical list
// (lexicon.go): "purchase" becomes "buy" and is then a direction word like "buy" itself.
// SemanticConfig.Synonyms adds lines of the same shape from the configuration.
const builtinSynonyms = `
buy: purchase
sell: vend
cheap: inexpensive affordable
cost: price
fix: repair mend
leak: leaky leaking
tap: faucet
fast: speedy
fastest: quickest speediest
faster: quicker speedier
slow: sluggish
big: large
bigger: larger
biggest: largest
increase: boost
decrease: reduce lessen
eat: consume
way: method
image: photo photograph picture pic
child: kid children
baby: infant
abroad: overseas
directory: folder
start: begin commence
stop: quit halt cease
exercise: workout
pain: ache
legal: lawful
illegal: unlawful
phone: telephone cellphone
get: obtain
treatment: remedy
toxic: poisonous
calm: soothe
stomach: tummy belly
remove: delete
change: modify alter
benefit: advantage
disadvantage: drawback downside
need: require
easy: simple
easier: simpler
easiest: simplest
calculate: compute
movie: film
suitable: appropriate
couch: sofa
salary: wage
intelligent: clever smart
broken: damaged
car: automobile
speak: talk
find: locate
use: utilize utilise
doctor: physician
lawyer: attorney
sick: ill
rich: wealthy
richer: wealthier
richest: wealthiest
understand: comprehend
help: assist
person: people persons
man: men
woman: women
mouse: mice
tooth: teeth
goose: geese
summarize: summarise summary
define: definition
explain: explanation
describe: description
install: installation
compare: comparison
convert: conversion
translate: translation
recommend: recommendation
improve: improvement
renew: renewal
organize: organise
analyze: analyse analysis
favorite: favourite
color: colour
flavor: flavour
behavior: behaviour
neighbor: neighbour
center: centre
theater: theatre
gray: grey
tire: tyre
license: licence
defense: defence
catalog: catalogue
jewelry: jewellery
aluminum: aluminium
meter: metre
liter: litre
kilometer: kilometre
travel: travelling
traveled: travelled
cancel: cancelling
canceled: cancelled
`

// lemmaVerbs are verbs whose -ing form is compared as the verb ("learning guitar" is
// "learn guitar"). Nouns that end in -ing and mean something else ("building",
// "painting", "meeting", "smoking" against "smoke") are kept out by listing only these.
const lemmaVerbs = `learn cook run jog swim write read code program debug deploy parse
	convert renew improve install uninstall stretch fertilize fertilise water sleep walk
	plan start stop begin quit change fix repair move copy merge sort search print train
	test eat drink study work play bake boil fry grill clean wash save spend invest borrow
	lend pay shop sell buy rent lose win use open close send receive upload download
	import export encrypt decrypt compress decompress enable disable push pull add remove
	insert list reverse create update load jump climb hike speak talk listen sing dance
	prepare apply cancel delete calculate compute learn fold freeze cut drop check count
	grow lift shave feed bathe walk teach drive ride fly sail ski skate store purchase
	consume modify alter reduce boost obtain locate utilize repair soothe`

// builtinCanon is the built-in lexicon, word to canonical word, built once from the
// constants above and never written afterwards.
var builtinCanon = buildBuiltinCanon()

func buildBuiltinCanon() map[string]string {
	m := map[string]string{}
	for _, v := range strings.Fields(lemmaVerbs) {
		m[ingForm(v)] = v
	}
	for _, line := range strings.Split(builtinSynonyms, "\n") {
		canon, list, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		canon = strings.TrimSpace(canon)
		for _, w := range strings.Fields(list) {
			m[w] = canon
		}
	}
	// A lemma of a word that is itself a synonym ends at that synonym's canonical word:
	// "deleting" is "delete" is "remove".
	for w, c := range m {
		if c2, ok := m[c]; ok {
			m[w] = c2
		}
	}
	return m
}

// ingForm is the -ing form of an English verb: "make" "making", "die" "dying", "run"
// "running" (a short word ending consonant-vowel-consonant doubles its last letter),
// and the listed exceptions ("begin" "beginning").
func ingForm(v string) string {
	n := len(v)
	vowel := func(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }
	switch v {
	case "begin", "debug", "program", "quit":
		return v + v[n-1:] + "ing"
	}
	switch {
	case strings.HasSuffix(v, "ie"):
		return v[:n-2] + "ying"
	case strings.HasSuffix(v, "e") && !strings.HasSuffix(v, "ee") && !strings.HasSuffix(v, "ye") && !strings.HasSuffix(v, "oe"):
		return v[:n-1] + "ing"
	case n <= 4 && n >= 3 && !vowel(v[n-1]) && strings.IndexByte("wxy", v[n-1]) < 0 && vowel(v[n-2]) && !vowel(v[n-3]):
		return v + v[n-1:] + "ing"
	}
	return v + "ing"
}

// lexicon maps a word to the word it is compared as: the configured synonyms first, then
// the built-in lexicon. The zero value and nil are the built-in lexicon alone. It is
// immutable once built and safe for concurrent use.
type lexicon struct {
	extra map[string]string // from SemanticConfig.Synonyms; nil when none
	id    string            // "" for the built-in lexicon, else a hash of extra
}

// newLexicon builds the lexicon for the configured synonyms (already validated).
func newLexicon(synonyms map[string][]string) *lexicon {
	if len(synonyms) == 0 {
		return &lexicon{}
	}
	lx := &lexicon{extra: map[string]string{}}
	keys := make([]string, 0, len(synonyms))
	for k := range synonyms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var desc strings.Builder
	for _, k := range keys {
		desc.WriteString(k + ":")
		for _, w := range synonyms[k] {
			lx.extra[w] = k
			desc.WriteString(" " + w)
		}
		desc.WriteByte('\n')
	}
	lx.id = fmt.Sprintf("%08x", uint32(fnv64(desc.String())))
	return lx
}

// canonical returns the word lower (lower-cased) is compared as: its entry in the
// lexicon, or its singular's entry ("kids" is "kid" is "child"), or lower itself.
func (lx *lexicon) canonical(lower string) string {
	if c, ok := lx.lookup(lower); ok {
		return c
	}
	if s := stemWord(lower); s != lower {
		if c, ok := lx.lookup(s); ok {
			return c
		}
	}
	return lower
}

func (lx *lexicon) lookup(w string) (string, bool) {
	if lx != nil && lx.extra != nil {
		if c, ok := lx.extra[w]; ok {
			return c, true
		}
	}
	c, ok := builtinCanon[w]
	return c, ok
}

// validateSynonyms reports what is wrong with configured synonyms: every key and word
// must be one lower-case word of letters only, not a number, negation or question word
// (the guards rely on those), listed once, and a key may not also be another key's word.
func validateSynonyms(synonyms map[string][]string) []string {
	var bad []string
	owner := map[string]string{}
	keys := make([]string, 0, len(synonyms))
	for k := range synonyms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if why := badSynonymWord(k); why != "" {
			bad = append(bad, fmt.Sprintf("%q %s", k, why))
		}
		if len(synonyms[k]) == 0 {
			bad = append(bad, fmt.Sprintf("%q lists no words", k))
		}
		for _, w := range synonyms[k] {
			if why := badSynonymWord(w); why != "" {
				bad = append(bad, fmt.Sprintf("%q (under %q) %s", w, k, why))
			}
			switch {
			case w == k:
				bad = append(bad, fmt.Sprintf("%q lists itself", k))
			case owner[w] != "":
				bad = append(bad, fmt.Sprintf("%q is listed under both %q and %q", w, owner[w], k))
			case synonyms[w] != nil:
				bad = append(bad, fmt.Sprintf("%q is a canonical word and also listed under %q", w, k))
			}
			owner[w] = k
		}
	}
	return bad
}

func badSynonymWord(w string) string {
	if w == "" {
		return "is empty"
	}
	for _, r := range w {
		if !unicode.IsLetter(r) || !unicode.IsLower(r) {
			return "is not one lower-case word of letters"
		}
	}
	if _, ok := numberWords[w]; ok || negationWords[w] || questionWords[w] {
		return "is a number, negation or question word, which the guards compare exactly"
	}
	return ""
}
