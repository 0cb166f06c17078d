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
	"os"

	"github.com/alecthomas/kong"
)

// Exit codes, documented in --help and the README.
const (
	ExitOK          = 0   // every row answered
	ExitFatal       = 1   // the job could not run or finish
	ExitUsage       = 2   // bad flags or configuration
	ExitIncomplete  = 3   // finished, but some rows failed or are missing
	ExitBudget      = 4   // stopped at the spend cap (--max-cost)
	ExitInterrupted = 130 // stopped by Ctrl-C or SIGTERM
)

const exitHelp = `Exit codes:
  0    every row answered
  1    fatal error
  2    usage or configuration error
  3    finished, some rows failed or missing
  4    stopped at the spend cap (--max-cost)
  130  interrupted (Ctrl-C, SIGTERM)`

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Signals delivers Ctrl-C and SIGTERM: the first asks a job to stop
	// gracefully, the second to cancel what is in flight. May be nil.
	Signals <-chan os.Signal
}

// shutdown is how a command hears the user ask it to stop.
type shutdown struct {
	stop <-chan struct{} // closed at the first signal: finish what is in flight
	hard context.Context // cancelled at the second: cancel what is in flight
}

// watchSignals turns the first signal into stop (and cancels the returned
// soft context, which commands without a graceful path run under) and the
// second into cancelling hard.
func watchSignals(ctx context.Context, signals <-chan os.Signal) (soft context.Context, sd *shutdown, done func()) {
	hard, cancelHard := context.WithCancel(ctx)
	soft, cancelSoft := context.WithCancel(hard)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		select {
		case <-signals:
		case <-finished:
			return
		}
		close(stop)
		cancelSoft()
		select {
		case <-signals:
			cancelHard()
		case <-finished:
		}
	}()
	return soft, &shutdown{stop: stop, hard: hard}, func() {
		close(finished)
		cancelSoft()
		cancelHard()
	}
}

type root struct {
	Run      runCmd      `cmd:"" help:"Enrich the rows of a file."`
	Estimate estimateCmd `cmd:"" help:"Show what a run would send and what it could cost; send nothing."`
	Status   statusCmd   `cmd:"" help:"Show a job's journal: rows by status, spend, unfinished runs."`
	Schema   schemaCmd   `cmd:"" help:"Print the output schema a run would send, or the columns it would add."`
	Schemas  schemasCmd  `cmd:"" help:"List the built-in schemas."`
	Sim      simCmd      `cmd:"" help:"Serve the Agent API simulator on a local port."`
	Version  versionCmd  `cmd:"" help:"Print the version."`
}

// usageError marks a mistake in what the user asked for (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// budgetError reports a job stopped at the spend cap (exit 4).
type budgetError struct{ unsent int }

func (e budgetError) Error() string {
	return fmt.Sprintf("stopped at the spend cap: %d rows not sent (_status skipped_budget); raise --max-cost and run again to finish", e.unsent)
}

// interruptedError reports a job stopped by a signal (exit 130).
type interruptedError struct{ unanswered int }

func (e interruptedError) Error() string {
	return fmt.Sprintf("interrupted: %d rows not answered; run the same command again to finish them", e.unanswered)
}

// incompleteError reports a job that finished with rows unanswered (exit 3).
type incompleteError struct{ unanswered int }

func (e incompleteError) Error() string {
	return fmt.Sprintf("%d rows were not answered; see _status and _error in the output", e.unanswered)
}

type kongExit int

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) (code int) {
	ctx, sd, done := watchSignals(ctx, env.Signals)
	defer done()
	var cli root
	parser, err := kong.New(&cli,
		kong.Name("exa-enrich"),
		kong.Description("Enrich a spreadsheet with web research from Exa's Agent API.\n\n"+exitHelp),
		kong.Writers(env.Stdout, env.Stderr),
		kong.Exit(func(c int) { panic(kongExit(c)) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(&env, sd),
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
		var ue usageError // a job file's mistake: its line says more than the usage would
		if errors.As(err, &pe) && !errors.As(err, &ue) {
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
	var budget budgetError
	var interrupted interruptedError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage):
		return ExitUsage
	case errors.As(err, &budget):
		return ExitBudget
	case errors.As(err, &incomplete):
		return ExitIncomplete
	case errors.As(err, &interrupted), ctx.Err() != nil && errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFatal
	}
}
