package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// jobFlags are the flags that make a command a repeatable job: a file that
// holds its settings, the lock that keeps two executions apart, and a key
// that never shows in ps.
type jobFlags struct {
	Job        string `placeholder:"FILE" help:"Read the settings from a YAML job file: every flag is a key, named like the flag with _ for - (chunk_size: 20), and the input file is the key input. Flags on the command line override the file; relative paths in it are relative to its folder."`
	WaitLock   bool   `help:"When another execution of the same job holds its lock, wait for it to finish instead of exiting with code 1."`
	APIKeyFile string `name:"api-key-file" placeholder:"FILE" help:"Read the Exa API key from this file (default: EXA_API_KEY). Keep it readable by you alone."`
}

// jobPathKeys are the job keys whose values are files: a relative path in a
// job file means a file beside the job, wherever cron starts the tool. Keys
// of flags this command does not have are ignored.
var jobPathKeys = []string{"input", "out", "state", "schema", "exclusion", "api_key_file", "summary_json", "changes"}

// BeforeResolve reads --job, when given, so that its keys supply every flag
// the command line leaves unset: kong asks resolvers only for those.
func (c *runCmd) BeforeResolve(kctx *kong.Context) error {
	return applyJob(kctx)
}

// jobKey is the job file key of a flag or positional argument.
func jobKey(name string) string { return strings.ReplaceAll(name, "-", "_") }

// jobFlagsOf returns, by job key, the flags a job file may set for a
// command: its own and those of the commands above it, as kong's model has
// them, so a new flag is a job key without anyone keeping a list.
func jobFlagsOf(node *kong.Node) map[string]*kong.Flag {
	flags := map[string]*kong.Flag{}
	for n := node; n != nil; n = n.Parent {
		for _, f := range n.Flags {
			if f.Name == "job" || f.Name == "help" {
				continue
			}
			if _, shadowed := flags[jobKey(f.Name)]; !shadowed {
				flags[jobKey(f.Name)] = f
			}
		}
	}
	return flags
}

// jobKeys returns the keys a job file may hold for a command: its flags'
// and its positional arguments'.
func jobKeys(node *kong.Node) map[string]bool {
	keys := map[string]bool{}
	for k := range jobFlagsOf(node) {
		keys[k] = true
	}
	for _, p := range node.Positional {
		keys[jobKey(p.Name)] = true
	}
	return keys
}

// jobValue is one setting of a job file and the line it is on.
type jobValue struct {
	line  int
	value any
}

// applyJob loads the job file named by --job on the command line, sets the
// positional arguments the command line left out, and adds a resolver for
// the flags.
func applyJob(kctx *kong.Context) error {
	var path string
	given := map[string]bool{} // flags and positionals on the command line
	for _, tr := range kctx.Path {
		switch {
		case tr.Flag != nil:
			given[tr.Flag.Name] = true
			if tr.Flag.Name == "job" {
				path, _ = kctx.FlagValue(tr.Flag).(string)
			}
		case tr.Positional != nil:
			given[tr.Positional.Name] = true
		}
	}
	if path == "" {
		return nil
	}
	node := kctx.Selected()
	values, err := loadJob(path, node)
	if err != nil {
		return usageError{err}
	}
	for _, p := range node.Positional {
		v, ok := values[jobKey(p.Name)]
		if !ok || given[p.Name] {
			continue
		}
		if err := p.Parse(kong.Scan().PushTyped(v.value, kong.PositionalArgumentToken), p.Target); err != nil {
			return usageError{fmt.Errorf("%s:%d: %s: %w", path, v.line, jobKey(p.Name), err)}
		}
	}
	kctx.AddResolver(kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		v, ok := values[jobKey(flag.Name)]
		if !ok || flag.Name == "job" {
			return nil, nil
		}
		// A flag on the command line overrides the job's choice of the
		// same group (--schema over a job's fields), not only its own key.
		for _, tr := range kctx.Path {
			if tr.Flag != nil && tr.Flag != flag && !tr.Resolved && sharesXor(tr.Flag, flag) {
				return nil, nil
			}
		}
		return v.value, nil
	}))
	return nil
}

func sharesXor(a, b *kong.Flag) bool {
	for _, x := range a.Xor {
		if slices.Contains(b.Xor, x) {
			return true
		}
	}
	return false
}

// loadJob reads a job file for a command: every key must be one of the
// command's, every value must parse as its flag would, and relative paths
// are made relative to the file's folder. Errors name the file and line.
func loadJob(path string, node *kong.Node) (map[string]jobValue, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--job: %w", err)
	}
	file, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlError(path, err)
	}
	values := map[string]jobValue{}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return values, nil // an empty job: the command line says everything
	}
	if len(file.Docs) > 1 {
		return nil, fmt.Errorf("%s: holds %d YAML documents; a job file is one", path, len(file.Docs))
	}
	body := file.Docs[0].Body
	var pairs []*ast.MappingValueNode
	switch m := body.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	case *ast.CommentNode:
		return values, nil
	default:
		return nil, fmt.Errorf("%s:%d: want keys and values (query: …), not %s", path, body.GetToken().Position.Line, body.Type())
	}

	keys := jobKeys(node)
	flags := jobFlagsOf(node)
	builtins := builtinNames()
	dir := filepath.Dir(path)
	var errs []error
	for _, kv := range pairs {
		line := kv.Key.GetToken().Position.Line
		key := kv.Key.GetToken().Value
		if !keys[key] {
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q%s", path, line, key, suggestKey(key, keys)))
			continue
		}
		if prev, dup := values[key]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: %s is set twice (first on line %d)", path, line, key, prev.line))
			continue
		}
		var v any
		if err := yaml.NodeToValue(kv.Value, &v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, yamlError(path, err)))
			continue
		}
		if v == nil {
			continue // "sheet:" with nothing after it sets nothing
		}
		if s, ok := v.(string); ok && slices.Contains(jobPathKeys, key) && s != "" &&
			!filepath.IsAbs(s) && (key != "schema" || !slices.Contains(builtins, s)) {
			v = filepath.Join(dir, s)
		}
		if f := flags[key]; f != nil {
			// YAML reads sheet: 2 or prefix: 2024 as numbers; the flag
			// takes text, as it would from a shell.
			if _, text := v.(string); !text && f.Target.Kind() == reflect.String {
				switch v.(type) {
				case bool, int, int64, uint64, float64:
					v = fmt.Sprint(v)
				}
			}
			if _, ok := f.Target.Interface().(time.Duration); ok {
				if _, text := v.(string); !text {
					errs = append(errs, fmt.Errorf("%s:%d: %s: %v has no unit: write %vs or %vm", path, line, key, v, v, v))
					continue
				}
			}
			if err := checkJobValue(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", path, line, key, err))
				continue
			}
		}
		values[key] = jobValue{line: line, value: v}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return values, nil
}

// yamlError says where in the job file YAML could not be read, as
// file:line like every other job file error.
func yamlError(path string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return fmt.Errorf("%s:%d: %s", path, ye.GetToken().Position.Line, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", path, err)
}

// checkJobValue parses v as the flag would, into a scratch value, so that a
// bad value is reported with the job file's line rather than as a flag the
// user never typed.
func checkJobValue(f *kong.Flag, v any) error {
	scratch := reflect.New(f.Target.Type()).Elem()
	err := f.Mapper.Decode(&kong.DecodeContext{Value: f.Value, Scan: kong.Scan().PushTyped(v, kong.FlagValueToken)}, scratch)
	if err != nil {
		return err
	}
	if f.Enum != "" {
		if s, ok := v.(string); ok && !f.EnumMap()[s] {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(f.EnumSlice(), ", "))
		}
	}
	return nil
}

// suggestKey names the key a typo probably meant: same letters once case,
// dashes and underscores are set aside, or one edit away.
func suggestKey(key string, keys map[string]bool) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	var best string
	for k := range keys {
		if norm(k) == norm(key) || editDistance(k, key) <= 2 {
			if best == "" || k < best {
				best = k
			}
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return "; job keys are the flags of 'exa-enrich run --help' with _ for - (max_cost), and input"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
