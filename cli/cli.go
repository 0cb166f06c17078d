// Package cli is the exa-enrich command line: it parses flags into each
// command's options, wires readers, the API client (or the embedded
// simulator), the pipeline and the writers, and maps every outcome to one
// exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/alecthomas/kong"
)

// Exit codes, documented in --help and the README.
const (
	ExitOK          = 0   // every row answered
	ExitFatal       = 1   // the job could not run or finish
	ExitUsage       = 2   // bad flags or configuration
	ExitIncomplete  = 3   // finished, but some rows failed or are missing
	ExitInterrupted = 130 // stopped by Ctrl-C or SIGTERM
)

const exitHelp = `Exit codes:
  0    every row answered
  1    fatal error
  2    usage or configuration error
  3    finished, some rows failed or missing
  130  interrupted`

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type root struct {
	Run     runCmd     `cmd:"" help:"Enrich the rows of a file."`
	Schema  schemaCmd  `cmd:"" help:"Print the output schema a run would send, or the columns it would add."`
	Schemas schemasCmd `cmd:"" help:"List the built-in schemas."`
	Sim     simCmd     `cmd:"" help:"Serve the Agent API simulator on a local port."`
}

// usageError marks a mistake in what the user asked for (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// incompleteError reports a job that finished with rows unanswered (exit 3).
type incompleteError struct{ unanswered int }

func (e incompleteError) Error() string {
	return fmt.Sprintf("%d rows were not answered; see _status and _error in the output", e.unanswered)
}

type kongExit int

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) (code int) {
	var cli root
	parser, err := kong.New(&cli,
		kong.Name("exa-enrich"),
		kong.Description("Enrich a spreadsheet with web research from Exa's Agent API.\n\n"+exitHelp),
		kong.Writers(env.Stdout, env.Stderr),
		kong.Exit(func(c int) { panic(kongExit(c)) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(&env),
	)
	if err != nil {
		fmt.Fprintln(env.Stderr, "exa-enrich:", err)
		return ExitFatal
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(env.Stderr, "exa-enrich:", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			_ = pe.Context.PrintUsage(true)
		}
		return ExitUsage
	}
	err = kctx.Run()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "exa-enrich:", err)
	return exitCode(ctx, err)
}

// exitCode maps an error to its exit code; the one place that does.
func exitCode(ctx context.Context, err error) int {
	var usage usageError
	var incomplete incompleteError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &incomplete):
		return ExitIncomplete
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFatal
	}
}
