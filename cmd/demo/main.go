// Command demo runs the whole demo on 127.0.0.1: Hydra with an in-memory
// database, aiconsent with a fresh SQLite file in .demo/, and the Example
// App, with the Example App's OAuth2 client and a demo user created. `make
// demo` builds the binaries into bin/ and runs it from the repository root.
//
// Usage:
//
//	demo [-bin DIR] [-state DIR]
//	demo register-client
//
// register-client only creates or replaces the Example App's client in
// Hydra, reading HYDRA_ADMIN_URL and DEMOAPP_CLIENT_SECRET; docker-compose.yml
// runs it once Hydra is up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aiconsent/aiconsent/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run returns the exit code: 0 after Ctrl-C, 1 when something failed, 2
// for a wrong command line.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "register-client" {
		if err := registerClient(ctx, args[1:], getenv, stdout); err != nil {
			fmt.Fprintln(stderr, "demo register-client:", err)
			return 1
		}
		return 0
	}

	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binDir := fs.String("bin", "bin", "directory with the hydra, aiconsent and demoapp binaries")
	stateDir := fs.String("state", ".demo", "directory for aiconsent's database, emptied at start")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q: the only command is register-client, the only flags -bin and -state\n", fs.Arg(0))
		return 2
	}

	err := runDemo(ctx, options{binDir: *binDir, stateDir: *stateDir, ports: demo.DefaultPorts()}, stdout)
	var early *earlyExitError
	switch {
	case errors.As(err, &early):
		fmt.Fprintf(stderr, "demo: %v; stopped the other programs\n", err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	return 0
}
