package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/sqlite"
	"github.com/aiconsent/aiconsent/usage"
)

// listSpend handles "spend": spend and holds per user or per client in the
// current day, month or in total, largest first.
func listSpend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("spend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	by := fs.String("by", "user", "group by \"user\" or \"client\"")
	period := fs.String("period", string(usage.PeriodMonthly), "\"daily\", \"monthly\" or \"total\"")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *by != "user" && *by != "client" {
		return fmt.Errorf("%w: -by %q: use user or client", errUsage, *by)
	}
	p := usage.Period(*period)
	if p != usage.PeriodDaily && p != usage.PeriodMonthly && p != usage.PeriodTotal {
		return fmt.Errorf("%w: -period %q: use daily, monthly or total", errUsage, *period)
	}

	var cal usage.Calendar
	if tz := getenv("AICONSENT_USAGE_TIMEZONE"); tz != "" {
		var err error
		if cal, err = usage.LoadCalendar(tz); err != nil {
			return fmt.Errorf("AICONSENT_USAGE_TIMEZONE=%q is not a known time zone: use an IANA name such as Europe/Berlin", tz)
		}
	}
	cat, err := access.LoadCatalog(getenv("AICONSENT_CATALOG"))
	if err != nil {
		return fmt.Errorf("AICONSENT_CATALOG=%q: %w", getenv("AICONSENT_CATALOG"), err)
	}

	db, err := openExistingDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()

	store := db.UsageStore(cal)
	list := store.SpendByUser
	if *by == "client" {
		list = store.SpendByClient
	}
	rows, err := list(ctx, p, time.Now())
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	key := "USER"
	if *by == "client" {
		key = "CLIENT"
	}
	fmt.Fprintf(w, "%s\tSPENT\tHELD\n", key)
	for _, r := range rows {
		name := r.Key
		if *by == "user" {
			name = usernameOf(ctx, db, r.Key)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, r.Spent.Format(cat.Currency), r.Held.Format(cat.Currency))
	}
	return w.Flush()
}

// usernameOf returns the username of subject, or the subject itself when
// the account no longer exists.
func usernameOf(ctx context.Context, db *sqlite.DB, subject string) string {
	if u, err := db.FindUserBySubject(ctx, subject); err == nil {
		return u.Username
	}
	return subject
}
