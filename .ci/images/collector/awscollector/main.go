// awscollector: entrypoint of the ADOT collector stand-in image.
// It execs the ocb-built collector twin (/otelcol-twin) and adds the one ADOT behaviour
// the twin lacks: when the env var AOT_CONFIG_CONTENT is set (non-empty), the collector
// configuration is taken from it and any --config flags are dropped (as ADOT does).
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

const twin = "/otelcol-twin"

func main() {
	args := os.Args[1:]
	if content := os.Getenv("AOT_CONFIG_CONTENT"); strings.TrimSpace(content) != "" {
		var kept []string
		for i := 0; i < len(args); i++ {
			a := args[i]
			switch {
			case a == "--config" || a == "-config":
				i++ // drop the value too
			case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			default:
				kept = append(kept, a)
			}
		}
		args = append([]string{"--config=env:AOT_CONFIG_CONTENT"}, kept...)
		// a subcommand (e.g. `validate`) must come first
		if len(kept) > 0 && !strings.HasPrefix(kept[0], "-") {
			args = append([]string{kept[0], "--config=env:AOT_CONFIG_CONTENT"}, kept[1:]...)
		}
	}
	argv := append([]string{"awscollector"}, args...)
	if err := syscall.Exec(twin, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "awscollector: exec %s: %v\n", twin, err)
		os.Exit(127)
	}
}
