package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
)

const (
	// demoUsername is the account the demo creates in aiconsent.
	demoUsername = "demo"

	// hookPath and hookHeader are where aiconsent serves Hydra's token
	// hook and the header that carries its API key (server.HookPath and
	// tokenhook.DefaultHeader, which a test compares). The demo does not
	// import them so that it does not link all of aiconsent.
	hookPath   = "/hooks/token"
	hookHeader = "X-Hook-Key"

	// readyTimeout bounds each wait for a program's readiness check to
	// return 200. Hydra and aiconsent usually need a few seconds.
	readyTimeout = 60 * time.Second
)

// earlyExitError reports a child that exited while the demo ran.
type earlyExitError struct {
	name string
	err  error // from Wait; nil for exit status 0
}

func (e *earlyExitError) Error() string {
	if e.err == nil {
		return e.name + " exited early"
	}
	return fmt.Sprintf("%s exited early: %v", e.name, e.err)
}

// options are the settings of one demo run.
type options struct {
	binDir   string     // contains hydra, aiconsent and demoapp
	stateDir string     // holds aiconsent.db
	ports    demo.Ports // demo.DefaultPorts() except in tests
}

// runDemo starts everything, prints how to use it, and runs until ctx is
// done (Ctrl-C), which returns nil, or until a child exits, which returns
// an *earlyExitError. It stops every child before it returns.
func runDemo(ctx context.Context, opt options, stdout io.Writer) error {
	ports := opt.ports
	bins := map[string]string{
		"hydra":     filepath.Join(opt.binDir, "hydra"),
		"aiconsent": filepath.Join(opt.binDir, "aiconsent"),
		"demoapp":   filepath.Join(opt.binDir, "demoapp"),
	}
	if err := checkBinaries(bins); err != nil {
		return err
	}
	if err := checkPortsFree(ports); err != nil {
		return err
	}
	dbPath, err := resetState(opt.stateDir)
	if err != nil {
		return err
	}

	console := newConsole(stdout, "demo", "hydra", "aiconsent", "demoapp")
	d := &session{console: console, exited: make(chan *child, 8)}
	defer func() { stopAll(d.children) }()

	creds, err := d.start(ctx, ports, bins, dbPath)
	if err != nil {
		if ctx.Err() != nil {
			console.printf("interrupted, stopping")
			return nil
		}
		return err
	}
	console.raw(banner(ports, creds, dbPath))

	select {
	case <-ctx.Done():
		console.printf("stopping")
		return nil
	case c := <-d.exited:
		return &earlyExitError{name: c.name, err: c.err}
	}
}

// session is one run of the demo and the children it started.
type session struct {
	console  *console
	children []*child
	exited   chan *child
}

// credentials are the secrets the demo made for this run.
type credentials struct {
	username, password string

	// gatewayKey is the usage API key of the resource server "gateway".
	gatewayKey string
}

// start starts Hydra, registers the Example App, creates the demo user,
// then starts aiconsent and the Example App, waiting until each is ready.
func (d *session) start(ctx context.Context, ports demo.Ports, bins map[string]string, dbPath string) (credentials, error) {
	clientSecret := randomHex(32)
	hookKey := randomHex(32)

	d.console.printf("starting Hydra v2.3.0 (in-memory database)")
	hydra, err := d.startChild("hydra", bins["hydra"], []string{"serve", "all", "--dev"}, hydraEnv(ports, hookKey))
	if err != nil {
		return credentials{}, err
	}
	if err := d.waitReady(ctx, hydra, ports.HydraAdminURL()+"/health/ready"); err != nil {
		return credentials{}, err
	}

	client := demo.ExampleClient(ports, clientSecret)
	if err := demo.RegisterClient(ctx, &http.Client{Timeout: 10 * time.Second}, ports.HydraAdminURL(), client); err != nil {
		return credentials{}, err
	}
	d.console.printf("registered OAuth2 client %q", client.ClientID)

	creds := credentials{username: demoUsername, password: readablePassword(), gatewayKey: randomHex(32)}
	if err := d.addUser(ctx, bins["aiconsent"], dbPath, creds); err != nil {
		return credentials{}, err
	}

	appEnv := append(os.Environ(),
		"HYDRA_ADMIN_URL="+ports.HydraAdminURL(),
		"HYDRA_PUBLIC_URL="+ports.HydraPublicURL(),
		"AICONSENT_ADDR=127.0.0.1:"+strconv.Itoa(ports.App),
		"AICONSENT_PUBLIC_URL="+ports.AppURL(),
		"AICONSENT_DATABASE="+dbPath,
		"AICONSENT_HOOK_API_KEY="+hookKey,
		"AICONSENT_RESOURCE_SERVERS=gateway:"+creds.gatewayKey,
	)
	app, err := d.startChild("aiconsent", bins["aiconsent"], []string{"serve"}, appEnv)
	if err != nil {
		return credentials{}, err
	}
	if err := d.waitReady(ctx, app, ports.AppURL()+"/healthz"); err != nil {
		return credentials{}, err
	}

	demoAppEnv := append(os.Environ(),
		"DEMOAPP_ADDR=127.0.0.1:"+strconv.Itoa(ports.DemoApp),
		"DEMOAPP_URL="+ports.DemoAppURL(),
		"DEMOAPP_HYDRA_PUBLIC_URL="+ports.HydraPublicURL(),
		"DEMOAPP_HYDRA_BACKCHANNEL_URL="+ports.HydraPublicURL(),
		"DEMOAPP_HYDRA_ADMIN_URL="+ports.HydraAdminURL(),
		"DEMOAPP_CLIENT_ID="+client.ClientID,
		"DEMOAPP_CLIENT_SECRET="+clientSecret,
	)
	demoApp, err := d.startChild("demoapp", bins["demoapp"], nil, demoAppEnv)
	if err != nil {
		return credentials{}, err
	}
	return creds, d.waitReady(ctx, demoApp, ports.DemoAppURL()+"/")
}

func (d *session) startChild(name, path string, args, env []string) (*child, error) {
	c, err := startChild(name, path, args, env, d.console, d.exited)
	if err != nil {
		return nil, err
	}
	d.children = append(d.children, c)
	return c, nil
}

// waitReady polls target until it returns 200. It gives up when ctx is
// done, when c exits, or after readyTimeout.
func (d *session) waitReady(ctx context.Context, c *child, target string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()

	for {
		if answers200(ctx, client, target) {
			return nil
		}

		select {
		case <-c.done:
			return &earlyExitError{name: c.name, err: c.err}
		case <-ctx.Done():
			return fmt.Errorf("%s did not return 200 for GET %s within %s: see its output above", c.name, target, readyTimeout)
		case <-tick.C:
		}
	}
}

func answers200(ctx context.Context, client *http.Client, target string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// addUser runs `aiconsent user add` with the password on stdin, never in
// the arguments.
func (d *session) addUser(ctx context.Context, bin, dbPath string, creds credentials) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	out := d.console.writer("aiconsent")
	defer out.flush()

	cmd := exec.CommandContext(ctx, bin, "user", "add", "-username", creds.username)
	cmd.Env = append(os.Environ(), "AICONSENT_DATABASE="+dbPath)
	cmd.Stdin = strings.NewReader(creds.password + "\n")
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("create the demo user with %s user add: %w", bin, err)
	}
	return nil
}

// hydraEnv returns Hydra's environment: the shared settings, an in-memory
// database, a system secret made for this run, aiconsent's token hook with
// hookKey, and PATH, HOME and TMPDIR. The rest of the caller's environment
// stays out so a stray Hydra setting in the shell cannot change the demo.
func hydraEnv(ports demo.Ports, hookKey string) []string {
	settings := demo.HydraEnv(ports)
	settings["DSN"] = "memory"
	settings["SECRETS_SYSTEM"] = randomHex(32)
	settings["OAUTH2_TOKEN_HOOK"] = demo.TokenHook(ports.AppURL()+hookPath, hookHeader, hookKey)

	var env []string
	for _, key := range []string{"PATH", "HOME", "TMPDIR"} {
		if value, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+value)
		}
	}
	for key, value := range settings {
		env = append(env, key+"="+value)
	}
	return env
}

func checkBinaries(bins map[string]string) error {
	for _, name := range []string{"hydra", "aiconsent", "demoapp"} {
		if _, err := os.Stat(bins[name]); err != nil {
			return fmt.Errorf("%s binary: %w; run make demo, which builds it", name, err)
		}
	}
	return nil
}

// checkPortsFree returns an error naming every demo port that another
// program already listens on.
func checkPortsFree(p demo.Ports) error {
	ports := []struct {
		port int
		what string
	}{
		{p.HydraPublic, "Hydra public API"},
		{p.HydraAdmin, "Hydra admin API"},
		{p.App, "aiconsent"},
		{p.DemoApp, "Example App"},
	}

	var busy []string
	for _, port := range ports {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port.port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			busy = append(busy, fmt.Sprintf("%s (%s)", addr, port.what))
			continue
		}
		l.Close()
	}
	if len(busy) > 0 {
		return fmt.Errorf("%s already in use: stop the program listening there (is an earlier make demo still running?) and try again", strings.Join(busy, " and "))
	}
	return nil
}

// resetState creates stateDir and removes the database of an earlier run,
// with its WAL files. It returns the database path.
func resetState(stateDir string) (string, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("create state directory: %w", err)
	}

	db := filepath.Join(stateDir, "aiconsent.db")
	for _, path := range []string{db, db + "-wal", db + "-shm"} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("remove the earlier database: %w", err)
		}
	}
	return db, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// passwordAlphabet leaves out letters and digits that look alike (0 o 1 l i).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// readablePassword returns four groups of four characters, such as
// "k7mq-x9pa-4htz-ncr2": about 79 bits, easy to type from the terminal.
func readablePassword() string {
	groups := make([]string, 4)
	for i := range groups {
		groups[i] = randomFrom(passwordAlphabet, 4)
	}
	return strings.Join(groups, "-")
}

func randomFrom(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, n)
	rand.Read(buf)
	for i, b := range buf {
		// 256 is not a multiple of the alphabet size, so take from a
		// fresh byte until one falls below the largest multiple.
		for int(b) >= 256-256%len(alphabet) {
			var one [1]byte
			rand.Read(one[:])
			b = one[0]
		}
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(out)
}

func banner(p demo.Ports, creds credentials, dbPath string) string {
	line := strings.Repeat("=", 64)
	return fmt.Sprintf(`
%s
  The demo is running.

  Open      %s
  Username  %s
  Password  %s

  Hydra     %s (admin API %s)
  aiconsent %s (My grants: %s/grants)
  Database  %s (recreated at every start)
  Usage API key of the resource server "gateway": %s

  Press Ctrl-C to stop everything.
%s

`, line, p.DemoAppURL(), creds.username, creds.password,
		p.HydraPublicURL(), p.HydraAdminURL(), p.AppURL(), p.AppURL(), dbPath, creds.gatewayKey, line)
}
