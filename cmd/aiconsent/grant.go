package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/sqlite"
)

// runGrant handles the admin commands "grant list", "grant pause",
// "grant resume" and "grant revoke". Changes are recorded in the audit log
// with the operating-system user as the admin. A revocation is queued in
// the database; the running server delivers it to Hydra.
func runGrant(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: expected \"grant list\", \"grant pause ID\", \"grant resume ID\" or \"grant revoke ID\"", errUsage)
	}

	db, err := openExistingDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()

	switch args[0] {
	case "list":
		return listGrants(ctx, db, args[1:], stdout, stderr)
	case "pause", "resume", "revoke":
		if len(args) != 2 {
			return fmt.Errorf("%w: expected \"grant %s GRANT_ID\"", errUsage, args[0])
		}
		return changeGrant(ctx, db, args[0], args[1], stdout)
	}
	return fmt.Errorf("%w: unknown grant command %q", errUsage, args[0])
}

func listGrants(ctx context.Context, db *sqlite.DB, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grant list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("user", "", "list only the grants of this username")
	clientID := fs.String("client", "", "list only the grants of this OAuth 2.0 client id")
	live := fs.Bool("live", false, "list only active and paused grants")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}

	filter := access.GrantFilter{ClientID: *clientID, Live: *live}
	if *username != "" {
		u, err := db.FindUserByUsername(ctx, *username)
		if errors.Is(err, account.ErrUserNotFound) {
			return fmt.Errorf("user %q not found", *username)
		}
		if err != nil {
			return err
		}
		filter.Subject = u.Subject
	}

	grants, err := db.ListGrants(ctx, filter)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GRANT\tUSER\tCLIENT\tSTATUS\tPROVIDERS\tCREATED")
	for _, g := range grants {
		var providers []string
		for _, d := range g.Details {
			providers = append(providers, d.Provider)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, usernameOf(ctx, db, g.Subject), g.ClientID, g.Status,
			strings.Join(providers, ","), g.CreatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

func changeGrant(ctx context.Context, db *sqlite.DB, action, id string, stdout io.Writer) error {
	actor := "admin:cli"
	if u, err := user.Current(); err == nil {
		actor = "admin:" + u.Username
	}

	_, err := db.ChangeGrant(ctx, access.GrantChange{GrantID: id, Actor: actor, Action: action})
	switch {
	case errors.Is(err, access.ErrGrantNotFound):
		return fmt.Errorf("grant %q not found: list grants with: aiconsent grant list", id)
	case errors.Is(err, access.ErrGrantNotLive):
		return fmt.Errorf("grant %q is already revoked or replaced", id)
	case err != nil:
		return err
	}

	fmt.Fprintf(stdout, "%s grant %s\n", map[string]string{
		access.ActionPause: "paused", access.ActionResume: "resumed", access.ActionRevoke: "revoked",
	}[action], id)
	if action == access.ActionRevoke {
		fmt.Fprintln(stdout, "the running aiconsent server deletes the grant's tokens in Hydra; until then the token hook refuses them")
	}
	return nil
}

// setUserDisabled handles "user disable" and "user enable".
func setUserDisabled(ctx context.Context, args []string, getenv func(string) string, disabled bool, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "the account to change")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *username == "" {
		return fmt.Errorf("%w: -username is required", errUsage)
	}

	db, err := openExistingDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()

	if err := db.SetUserDisabled(ctx, *username, disabled); errors.Is(err, account.ErrUserNotFound) {
		return fmt.Errorf("user %q not found", *username)
	} else if err != nil {
		return err
	}
	verb := "enabled"
	if disabled {
		verb = "disabled"
	}
	fmt.Fprintf(stdout, "%s user %q\n", verb, *username)
	return nil
}
