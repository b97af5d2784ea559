// Command aiconsent is the login and consent app for Ory Hydra that lets
// people grant apps scoped, budgeted access to AI models.
//
// Usage:
//
//	aiconsent serve
//	aiconsent user add -username NAME [-admin]
//	aiconsent user disable|enable -username NAME
//	aiconsent grant list [-user NAME] [-client ID] [-live]
//	aiconsent grant pause|resume|revoke GRANT_ID
//	aiconsent spend [-by user|client] [-period daily|monthly|total]
//
// Configuration comes from environment variables; see the README.
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
)

const usageText = `usage:
  aiconsent serve                                  run the login and consent app
  aiconsent user add -username NAME [-admin]       create an account (password from stdin or a prompt)
  aiconsent user disable|enable -username NAME     stop or allow sign-in and token refresh
  aiconsent grant list [-user NAME] [-client ID] [-live]
  aiconsent grant pause|resume|revoke GRANT_ID
  aiconsent spend [-by user|client] [-period daily|monthly|total]

Environment: HYDRA_ADMIN_URL and HYDRA_PUBLIC_URL (required for serve), HYDRA_TOKEN_URL,
AICONSENT_ADDR, AICONSENT_PUBLIC_URL, AICONSENT_DATABASE, AICONSENT_CATALOG,
AICONSENT_HOOK_API_KEY, AICONSENT_RESOURCE_SERVERS, AICONSENT_USAGE_HOLD_TTL,
AICONSENT_USAGE_TIMEZONE, AICONSENT_SECURE_COOKIES, AICONSENT_TRUST_PROXY, AICONSENT_LOG_LEVEL.
`

// errUsage marks errors caused by a wrong command line.
var errUsage = errors.New("invalid command line")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiconsent:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usageText)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: missing command", errUsage)
	}

	switch args[0] {
	case "serve":
		cfg, err := readServeConfig(getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg)
	case "user":
		if len(args) < 2 {
			return fmt.Errorf("%w: expected \"user add\", \"user disable\" or \"user enable\"", errUsage)
		}
		switch args[1] {
		case "add":
			return addUser(ctx, args[2:], getenv, stdin, stdout, stderr)
		case "disable", "enable":
			return setUserDisabled(ctx, args[2:], getenv, args[1] == "disable", stdout, stderr)
		}
		return fmt.Errorf("%w: unknown user command %q", errUsage, args[1])
	case "grant":
		return runGrant(ctx, args[1:], getenv, stdout, stderr)
	case "spend":
		return listSpend(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// flagError returns a flag parsing error: flag.ErrHelp unchanged, since
// the flag package printed the help already, and anything else marked as
// a usage error.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
