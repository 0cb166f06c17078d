package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/exa-enrich/exa-enrich/cli"
	"github.com/exa-enrich/exa-enrich/exa/exasim"
)

func main() {
	sim, _ := exasim.Start(exasim.Config{})
	defer sim.Close()
	env := map[string]string{"EXA_API_KEY": "k", "EXA_BASE_URL": sim.URL}
	args := []string{"run", "--fields", "ceo:string, employees:integer", "--query", "q", "--chunk-size", "1000", "--qps", "0", "--concurrency", "100", "--max-concurrency", "100", "-o", "/tmp/prof/out.csv", "--state", "/tmp/prof/state.db", "/tmp/prof/in.csv"}
	for i, name := range []string{"first", "rerun"} {
		f, _ := os.Create("/tmp/prof/" + name + ".pprof")
		pprof.StartCPUProfile(f)
		t := time.Now()
		code := cli.Main(context.Background(), args, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(k string) string { return env[k] }})
		pprof.StopCPUProfile()
		f.Close()
		fmt.Println(i, name, code, time.Since(t))
	}
}
