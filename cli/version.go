package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release, set at build time with
// -ldflags "-X github.com/exa-enrich/exa-enrich/cli.Version=v1.2.3".
var Version = "dev"

type versionCmd struct{}

func (versionCmd) Help() string {
	return `Prints the release, the module version and the Go toolchain.

Examples:
  exa-enrich version`
}

func (versionCmd) Run(env *Env) error {
	module := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		module = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				module += " " + s.Value
			}
		}
	}
	fmt.Fprintf(env.Stdout, "exa-enrich %s (module %s, %s, %s/%s)\n", Version, module, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
