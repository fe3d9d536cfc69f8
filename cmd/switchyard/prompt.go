package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/jsonx"
	"github.com/switchyard/switchyard/internal/yamlx"
	"github.com/switchyard/switchyard/policies"
)

const promptUsage = `usage:
  switchyard prompt render ID[@VERSION|@LABEL] [--prompts DIR] [--vars FILE.json] [--messages FILE.json]
                           [--feature F] [--team T] [--user U] [--session S]
                                         print the chat completions request a prompt renders to
  switchyard prompt diff ID@A ID@B [--prompts DIR] [--vars FILE.json]
                                         diff two versions (rendered with --vars, else as templates)
  switchyard prompt lock [--prompts DIR]  record unpublished versions' hashes in prompts.lock
  switchyard prompt check [--prompts DIR] validate a prompts directory (file:line errors)
--prompts defaults to $SWITCHYARD_PROMPTS.
`

// promptCmd runs `switchyard prompt render|diff|lock|check`.
func promptCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, promptUsage)
		return 2
	}
	switch args[0] {
	case "render":
		return promptRender(args[1:], getenv, stdout, stderr)
	case "diff":
		return promptDiff(args[1:], getenv, stdout, stderr)
	case "lock":
		return promptLock(args[1:], getenv, stdout, stderr)
	case "check":
		return promptCheck(args[1:], getenv, stdout, stderr)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, promptUsage)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard prompt: unknown subcommand %q\n%s", args[0], promptUsage)
	return 2
}

// promptFlags is a flag set with --prompts (default $SWITCHYARD_PROMPTS).
func promptFlags(name string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("prompt "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("prompts", getenv("SWITCHYARD_PROMPTS"), "prompts directory")
	return fs, dir
}

// parsePromptArgs parses args (flags anywhere) and checks the positional count and the
// directory; it prints usage and returns false on a problem.
func parsePromptArgs(fs *flag.FlagSet, args []string, dir *string, positional int, stderr io.Writer) bool {
	if err := fs.Parse(reorder(args)); err != nil || fs.NArg() != positional || *dir == "" {
		if err == nil && *dir == "" {
			fmt.Fprintln(stderr, "switchyard prompt: no prompts directory: pass --prompts DIR or set SWITCHYARD_PROMPTS")
		}
		fmt.Fprint(stderr, promptUsage)
		return false
	}
	return true
}

// loadPromptDir loads a prompts directory, printing every problem as file:line: message.
func loadPromptDir(dir string, stderr io.Writer) *policies.Registry {
	r, err := policies.LoadPrompts(dir)
	if err != nil {
		printProblems(stderr, "", err)
		return nil
	}
	return r
}

func printProblems(w io.Writer, prefix string, err error) {
	var es yamlx.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, prefix+e.Error())
		}
		return
	}
	fmt.Fprintln(w, prefix+err.Error())
}

// promptRender resolves a reference as the gateway would (pins apply when no version is
// given) and prints the rendered request body as indented JSON; the resolution goes to
// stderr so that stdout is the body alone.
func promptRender(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs, dir := promptFlags("render", getenv, stderr)
	varsPath := fs.String("vars", "", "JSON object of variables")
	msgsPath := fs.String("messages", "", "JSON array of client messages to append")
	var attrs policies.ResolveAttrs
	fs.StringVar(&attrs.Feature, "feature", "", "feature the request is attributed to (for pins)")
	fs.StringVar(&attrs.Team, "team", "", "team the request is attributed to (for pins)")
	fs.StringVar(&attrs.StickyKey, "user", "", "user key for sticky splits")
	fs.StringVar(&attrs.Session, "session", "", "session key for session-sticky splits")
	if !parsePromptArgs(fs, args, dir, 1, stderr) {
		return 2
	}
	r := loadPromptDir(*dir, stderr)
	if r == nil {
		return 1
	}
	ref, err := policies.ParseRefHeader(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	vars, err := readVars(*varsPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var msgs []byte
	if *msgsPath != "" {
		if msgs, err = os.ReadFile(*msgsPath); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	v, reason, err := r.Resolve(ref, attrs)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	body, err := v.Render(vars, msgs)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", v.Ref, err)
		return 1
	}
	fmt.Fprintf(stderr, "# %s (%s)%s\n", v.Ref, reason, unpublishedNote(v))
	fmt.Fprint(stdout, jsonx.Get(body, "@pretty").Raw)
	return 0
}

func unpublishedNote(v *policies.PromptVersion) string {
	if v.Published {
		return ""
	}
	return ", not published"
}

// readVars reads a JSON object of variables ("" gives none).
func readVars(path string) (map[string]any, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var vars map[string]any
	if err := jsonx.Unmarshal(data, &vars); err != nil {
		return nil, fmt.Errorf("%s: variables must be a JSON object: %v", path, err)
	}
	return vars, nil
}

// promptDiff prints a unified diff between two versions' model, params, variables and
// messages: rendered with --vars when given, else the templates as written.
func promptDiff(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs, dir := promptFlags("diff", getenv, stderr)
	varsPath := fs.String("vars", "", "JSON object of variables to render both versions with")
	if !parsePromptArgs(fs, args, dir, 2, stderr) {
		return 2
	}
	r := loadPromptDir(*dir, stderr)
	if r == nil {
		return 1
	}
	vars, err := readVars(*varsPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var sides [2][]string
	var names [2]string
	for i, arg := range fs.Args() {
		ref, err := policies.ParseRefHeader(arg)
		if err == nil && ref.Version == "" && ref.Label == "" {
			err = fmt.Errorf("%s: name a version or a label (id@version)", arg)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		v, _, err := r.Resolve(ref, policies.ResolveAttrs{})
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if sides[i], err = describeVersion(v, vars, *varsPath != ""); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", v.Ref, err)
			return 1
		}
		names[i] = v.Ref + " (" + shortHash(v.Hash) + unpublishedNote(v) + ")"
	}
	fmt.Fprint(stdout, unifiedDiff(sides[0], sides[1], names[0], names[1], 3))
	return 0
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}

// describeVersion lays a version out as lines for diffing: model, params, variables and
// messages, each message's content indented line by line.
func describeVersion(v *policies.PromptVersion, vars map[string]any, render bool) ([]string, error) {
	lines := []string{"model: " + v.Model, "params:"}
	for _, p := range v.Params() {
		lines = append(lines, "  "+p.Key+": "+string(p.Value))
	}
	lines = append(lines, "variables:")
	for _, d := range v.Variables() {
		s := "  " + d.Name + ": " + d.Type
		if d.Required {
			s += ", required"
		}
		if d.Default != nil {
			b, _ := jsonx.Marshal(d.Default)
			s += ", default " + string(b)
		}
		lines = append(lines, s)
	}
	lines = append(lines, "messages:")
	msgs := v.Messages()
	if render {
		body, err := v.Render(vars, nil)
		if err != nil {
			return nil, err
		}
		for i, m := range jsonx.Get(body, "messages").Array() {
			msgs[i].Content = m.Get("content").String()
		}
	}
	for i, m := range msgs {
		lines = append(lines, "  "+strconv.Itoa(i+1)+". "+m.Role+":")
		for _, l := range strings.Split(strings.TrimSuffix(m.Content, "\n"), "\n") {
			lines = append(lines, "     "+l)
		}
	}
	return lines, nil
}

// promptLock records the hashes of unpublished versions in prompts.lock.
func promptLock(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs, dir := promptFlags("lock", getenv, stderr)
	if !parsePromptArgs(fs, args, dir, 0, stderr) {
		return 2
	}
	added, err := policies.WritePromptLock(*dir)
	if err != nil {
		printProblems(stderr, "", err)
		return 1
	}
	if len(added) == 0 {
		fmt.Fprintf(stdout, "%s is up to date\n", policies.LockFileName)
		return 0
	}
	r := loadPromptDir(*dir, stderr)
	if r == nil {
		return 1
	}
	for _, ref := range added {
		id, ver, _ := strings.Cut(ref, "@")
		fmt.Fprintf(stdout, "published %s %s\n", ref, r.Lookup(id, ver).Hash)
	}
	return 0
}

// promptCheck validates a prompts directory: problems as file:line on stderr (exit 1),
// warnings on stderr, a summary on stdout.
func promptCheck(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs, dir := promptFlags("check", getenv, stderr)
	if !parsePromptArgs(fs, args, dir, 0, stderr) {
		return 2
	}
	r := loadPromptDir(*dir, stderr)
	if r == nil {
		return 1
	}
	for _, w := range r.Warnings() {
		fmt.Fprintln(stderr, "warning: "+w.Error())
	}
	versions, unpublished := 0, 0
	for _, id := range r.IDs() {
		for _, v := range r.Versions(id) {
			versions++
			if !v.Published {
				unpublished++
			}
		}
	}
	fmt.Fprintf(stdout, "ok: prompts %s, %d prompts, %d versions (%d unpublished)\n", r.Version(), len(r.IDs()), versions, unpublished)
	return 0
}

// diffOp is one line of an edit script: kept (' '), removed ('-') or added ('+'); ai and
// bi count the lines of each side before it.
type diffOp struct {
	kind   byte
	line   string
	ai, bi int
}

// diffOps returns an edit script from a to b, removals before additions. It uses a
// longest-common-subsequence table: prompts are small, so O(len(a)·len(b)) is fine.
func diffOps(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, diffOp{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j], i, j})
			j++
		}
	}
	return ops
}

// unifiedDiff returns a unified diff of line lists a and b with ctx lines of context,
// or "" when they are equal.
func unifiedDiff(a, b []string, nameA, nameB string, ctx int) string {
	ops := diffOps(a, b)
	var out strings.Builder
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start, end := max(k-ctx, 0), k
		for e := k; e < len(ops); e++ { // extend while the next change is within 2·ctx lines
			if ops[e].kind != ' ' {
				end = e
			} else if e-end > 2*ctx {
				break
			}
		}
		stop := min(end+ctx+1, len(ops))
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
		}
		ac, bc := 0, 0
		for _, o := range ops[start:stop] {
			if o.kind != '+' {
				ac++
			}
			if o.kind != '-' {
				bc++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(ops[start].ai, ac), hunkRange(ops[start].bi, bc))
		for _, o := range ops[start:stop] {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			out.WriteByte('\n')
		}
		k = stop
	}
	return out.String()
}

// hunkRange formats a hunk's start,count the way diff does (start is 1-based; an empty
// range names the line before it).
func hunkRange(before, count int) string {
	if count == 0 {
		return strconv.Itoa(before) + ",0"
	}
	return strconv.Itoa(before+1) + "," + strconv.Itoa(count)
}
