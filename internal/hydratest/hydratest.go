// Package hydratest runs a real Ory Hydra v2.3.0 for tests, with the
// settings of `make demo` (see package demo), an in-memory database and
// its own free ports on 127.0.0.1, so test binaries can run in parallel.
package hydratest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
)

const (
	// readyTimeout bounds the wait for /health/ready. Hydra with an
	// in-memory database is ready within seconds, but a loaded CI machine
	// can be far slower.
	readyTimeout = 60 * time.Second

	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 10 * time.Second

	// startAttempts bounds the retries when another process takes one of
	// the free ports between picking it and Hydra binding it.
	startAttempts = 3
)

// errPortTaken marks a start that failed because a port was in use.
var errPortTaken = errors.New("port already in use")

// Options are the settings of one Hydra.
type Options struct {
	// LoginURL, ConsentURL and LogoutURL are the app's pages that Hydra
	// redirects the browser to. An empty one points at a free port on
	// 127.0.0.1 where nothing listens, which suits tests that never reach
	// that step or drive it through Authorize.
	LoginURL, ConsentURL, LogoutURL string

	// Env holds further Hydra settings as environment variables, for
	// example {"STRATEGIES_ACCESS_TOKEN": "jwt"} or {"LOG_LEVEL": "debug"}.
	// They override the shared settings. Leave SERVE_*_PORT and
	// SERVE_*_HOST alone, because PublicURL and AdminURL are built from
	// the ports Start picks.
	Env map[string]string
}

// Hydra is a running Hydra process.
type Hydra struct {
	PublicURL string // base URL of the public API and the issuer, no trailing slash
	AdminURL  string // base URL of the admin API, no trailing slash

	bin        string
	env        []string
	loginURL   string
	consentURL string
	log        *tailBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts Hydra and waits until GET /health/ready on the admin API
// returns 200. It stops Hydra when the test ends and, if the test failed,
// writes Hydra's log to the test log. It fails the test when Hydra does not
// become ready within 60 seconds.
func Start(t testing.TB, opt Options) *Hydra {
	t.Helper()
	bin := Binary(t)

	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var h *Hydra
		h, err = newHydra(bin, opt)
		if err != nil {
			t.Fatalf("start hydra: %v", err)
		}

		err = h.start()
		if err == nil {
			t.Cleanup(func() {
				h.Stop()
				if t.Failed() {
					t.Logf("hydra log (admin %s):\n%s", h.AdminURL, h.log)
				}
			})
			return h
		}

		if !errors.Is(err, errPortTaken) {
			t.Fatalf("start hydra: %v\nhydra log:\n%s", err, h.log)
		}
	}

	t.Fatalf("start hydra: %d attempts failed, the last with: %v", startAttempts, err)
	return nil
}

// newHydra picks the ports and builds the environment of one Hydra.
func newHydra(bin string, opt Options) (*Hydra, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	p := demo.Ports{HydraPublic: ports[0], HydraAdmin: ports[1], App: ports[2], DemoApp: ports[3]}

	secret := make([]byte, 32)
	rand.Read(secret)

	settings := demo.HydraEnv(p)
	settings["DSN"] = "memory"
	settings["SECRETS_SYSTEM"] = hex.EncodeToString(secret)
	overrideIfSet(settings, "URLS_LOGIN", opt.LoginURL)
	overrideIfSet(settings, "URLS_CONSENT", opt.ConsentURL)
	overrideIfSet(settings, "URLS_LOGOUT", opt.LogoutURL)
	for key, value := range opt.Env {
		settings[key] = value
	}

	return &Hydra{
		PublicURL:  p.HydraPublicURL(),
		AdminURL:   p.HydraAdminURL(),
		bin:        bin,
		env:        processEnv(settings),
		loginURL:   settings["URLS_LOGIN"],
		consentURL: settings["URLS_CONSENT"],
		log:        &tailBuffer{max: 1 << 20},
	}, nil
}

func overrideIfSet(settings map[string]string, key, value string) {
	if value != "" {
		settings[key] = value
	}
}

// processEnv returns the environment of the Hydra process: the settings
// plus PATH, HOME and TMPDIR. It leaves out the rest of the test's
// environment so a stray DSN or LOG_LEVEL in a developer's shell cannot
// change Hydra.
func processEnv(settings map[string]string) []string {
	env := make([]string, 0, len(settings)+3)
	for _, key := range []string{"PATH", "HOME", "TMPDIR"} {
		if value, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+value)
		}
	}
	for key, value := range settings {
		env = append(env, key+"="+value)
	}
	sort.Strings(env)
	return env
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. Another process may take one before Hydra binds it, which
// Start handles by trying again.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start runs the Hydra process and waits until it is ready. On failure it
// leaves no process behind.
func (h *Hydra) start() error {
	cmd := exec.Command(h.bin, "serve", "all", "--dev")
	cmd.Env = h.env
	cmd.Stdout = h.log
	cmd.Stderr = h.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", h.bin, err)
	}

	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	h.mu.Lock()
	h.cmd, h.done = cmd, done
	h.mu.Unlock()

	if err := h.waitReady(done); err != nil {
		h.Stop()
		return err
	}
	return nil
}

// waitReady polls GET /health/ready on the admin API until it returns 200,
// the process exits or readyTimeout passes.
func (h *Hydra) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()

	client := &http.Client{Timeout: 2 * time.Second}
	target := h.AdminURL + "/health/ready"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()

	for {
		if isReady(ctx, client, target) {
			return nil
		}

		select {
		case <-exited:
			if strings.Contains(h.log.String(), "address already in use") {
				return fmt.Errorf("hydra exited before it was ready: %w", errPortTaken)
			}
			return errors.New("hydra exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("GET %s did not return 200 within %s", target, readyTimeout)
		case <-tick.C:
		}
	}
}

func isReady(ctx context.Context, client *http.Client, target string) bool {
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

// Stop stops Hydra with SIGTERM, and kills it if it has not exited after
// 10 seconds. It returns once the process has exited. Calling Stop on a
// stopped Hydra does nothing.
func (h *Hydra) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.cmd == nil {
		return
	}

	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(stopTimeout):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
	h.cmd = nil
}

// Restart stops Hydra if it runs and starts it again on the same ports with
// the same settings. The database is in memory, so everything Hydra stored
// (clients, login and consent sessions, tokens) is gone afterwards. It
// fails the test when Hydra does not become ready.
func (h *Hydra) Restart(t testing.TB) {
	t.Helper()
	h.Stop()

	fmt.Fprintf(h.log, "\n--- hydratest: restart at %s ---\n", time.Now().Format(time.RFC3339))
	if err := h.start(); err != nil {
		t.Fatalf("restart hydra: %v\nhydra log:\n%s", err, h.log)
	}
}

// tailBuffer keeps the last max bytes written to it. Hydra's stdout and
// stderr both go here, and the mutex also guards String against Write.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	data    []byte
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	b.data = append(b.data, p...)
	if extra := len(b.data) - b.max; extra > 0 {
		b.data = append(b.data[:0], b.data[extra:]...)
		b.dropped = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()

	if b.dropped {
		return "[earlier output dropped, last " + strconv.Itoa(b.max) + " bytes follow]\n" + string(b.data)
	}
	return string(b.data)
}
