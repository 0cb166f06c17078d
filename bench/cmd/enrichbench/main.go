// Command enrichbench measures exa-enrich end to end and breaks it on
// purpose: the benchmarks and the chaos harness behind BENCHMARKS.md. It
// drives a built exa-enrich binary as a child process against
// `exa-enrich sim` running as another, over loopback, and measures only
// the `exa-enrich run` process. scripts/bench and scripts/chaos build both
// and call it.
//
//	enrichbench bench -exe BIN [-md BENCHMARKS.md] [sizes…]
//	enrichbench chaos -exe BIN [-md BENCHMARKS.md] [-rows 2000 -kills 20 -mode kill|int]
//	enrichbench roundtrip IN OUT   (the bare library round trip, as a child)
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: enrichbench bench|chaos|roundtrip …")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "bench":
		benchMain(os.Args[2:])
	case "chaos":
		chaosMain(os.Args[2:])
	case "roundtrip":
		if len(os.Args) != 4 {
			fatalf("usage: enrichbench roundtrip IN OUT")
		}
		must(roundTrip(os.Args[2], os.Args[3]))
	default:
		fmt.Fprintf(os.Stderr, "enrichbench: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
