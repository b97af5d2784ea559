package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/sqlite"
)

// addUser creates a local account. The password is read from stdin, or
// prompted for twice on a terminal; never from the command line, where
// other users of the machine could read it.
func addUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "the name the person signs in with")
	admin := fs.Bool("admin", false, "give the account the admin role")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (the password is read from stdin, never from arguments)", errUsage, fs.Arg(0))
	}
	if err := account.ValidateUsername(*username); err != nil {
		return fmt.Errorf("-username %q: %w", *username, err)
	}

	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if err := account.ValidatePassword(password); err != nil {
		return fmt.Errorf("password: %w", err)
	}
	hash, err := account.HashPassword(password)
	if err != nil {
		return err
	}

	path := getenvDefault(getenv, "AICONSENT_DATABASE", "aiconsent.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("open database %q: %w", path, err)
	}
	defer db.Close()

	u := &account.User{Subject: account.NewSubject(), Username: *username, PasswordHash: hash, Admin: *admin}
	if err := db.CreateUser(ctx, u); errors.Is(err, account.ErrUserExists) {
		return fmt.Errorf("username %q is already taken: choose another", *username)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %q with subject %q\n", u.Username, u.Subject)
	return nil
}

func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Repeat password: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ: run the command again")
		}
		return string(first), nil
	}

	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: pipe it in, for example: printf '%s\\n' \"$PASSWORD\" | aiconsent user add -username alice")
	}
	return line, nil
}
