package cli

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

type simCmd struct {
	Addr              string        `default:"127.0.0.1:8765" help:"Address to listen on."`
	ReplayOnly        bool          `help:"End event streams after the stored events instead of following the run."`
	AllowRemote       bool          `help:"Allow listening on a non-loopback address."`
	Latency           string        `default:"300ms-1500ms" help:"Run duration: 0, a duration such as 500ms, or MIN-MAX such as 300ms-1500ms."`
	Seed              uint64        `placeholder:"N" help:"Seed for latencies and faults (answers do not depend on it)."`
	RequireBetaHeader bool          `help:"Reject requests without Exa-Beta, as the service does during the beta."`
	ConcurrencyLimit  int           `default:"50" help:"Runs in progress before creates get 429 CONCURRENCY_LIMIT_REACHED."`
	QPS               float64       `name:"qps" placeholder:"N" help:"Request rate cap, creates counting double, GETs free (0: none)."`
	MaxRunTime        time.Duration `default:"1h" help:"Runs longer than this fail with TIMEOUT."`
	Credit            float64       `placeholder:"DOLLARS" help:"Dollars of credit; once billed, creates get 402 NO_MORE_CREDITS (0: unlimited)."`
	Faults            string        `placeholder:"NAME=RATE,..." help:"Faults to inject, as NAME=RATE pairs separated by commas (listed above)."`
}

func (c *simCmd) Help() string {
	var b strings.Builder
	b.WriteString("Serves the Agent API simulator until Ctrl-C. Point the tool at it with\nEXA_BASE_URL=http://ADDR and any EXA_API_KEY. GET /_sim/stats returns its counters.\n\nFaults (each a rate from 0 to 1), e.g. --faults 5xx=0.05,reset=0.02,reorder=0.5:\n")
	for _, f := range exasim.FaultNames {
		fmt.Fprintf(&b, "  %-12s %s\n", f.Name, f.Help)
	}
	b.WriteString(`
Examples:
  exa-enrich sim --addr 127.0.0.1:8765 --latency 300ms-1500ms
  exa-enrich sim --concurrency-limit 12 --faults 5xx=0.05,lost-create=0.02,drop=0.1 --seed 7
  EXA_BASE_URL=http://127.0.0.1:8765 EXA_API_KEY=any exa-enrich run --fields "ceo:string" --query CEO companies.csv
`)
	return b.String() + "\n" + exitHelp
}

func (c *simCmd) Run(ctx context.Context, env *Env) error {
	latency, err := exasim.ParseLatency(c.Latency)
	if err != nil {
		return usagef("--latency: %w", err)
	}
	faults, err := exasim.ParseFaults(c.Faults)
	if err != nil {
		return usagef("--faults: %w", err)
	}
	if !c.AllowRemote {
		if err := loopbackOnly(c.Addr); err != nil {
			return usagef("--addr: %w", err)
		}
	}
	sim, err := exasim.Listen(c.Addr, exasim.Config{
		Latency:           latency,
		Seed:              c.Seed,
		RequireBetaHeader: c.RequireBetaHeader,
		ConcurrencyLimit:  c.ConcurrencyLimit,
		QPS:               c.QPS,
		MaxRunTime:        c.MaxRunTime,
		CreditDollars:     c.Credit,
		ReplayOnly:        c.ReplayOnly,
		Faults:            faults,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exa-enrich sim: listening on %s (EXA_BASE_URL=%s)\n", sim.Addr(), sim.URL)
	<-ctx.Done()
	return sim.Close()
}

// loopbackOnly refuses addresses that other machines could reach: the
// simulator has no real authentication.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address; add --allow-remote to serve it anyway", addr)
	}
	return nil
}
