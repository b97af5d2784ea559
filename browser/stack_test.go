package browser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/account"
	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/internal/hydratest"
	"github.com/aiconsent/aiconsent/server"
	"github.com/aiconsent/aiconsent/tokenhook"
	"github.com/aiconsent/aiconsent/usageapi"
)

const (
	// demoAppStartTimeout bounds the wait for the Example App to respond.
	demoAppStartTimeout = 15 * time.Second

	// demoAppStopTimeout is how long the Example App may take to exit
	// after SIGTERM before it is killed.
	demoAppStopTimeout = 5 * time.Second

	// demoAppAttempts bounds the retries when another process takes the
	// Example App's port between picking it and binding it.
	demoAppAttempts = 3
)

// stack is one Hydra, one aiconsent and one Example App, with the Example
// App registered as a client and one user who can sign in.
type stack struct {
	hydra   *hydratest.Hydra
	server  *server.Server
	appURL  string // aiconsent
	demoURL string // the Example App
	user    testUser

	// demoSecret is the Example App's client secret, with which the tests
	// refresh the tokens the Example App shows.
	demoSecret string

	// usageKey is the key of the resource server "gateway", which may call
	// aiconsent's usage API.
	usageKey string
}

// testUser is an account of aiconsent.
type testUser struct {
	username string
	password string
	subject  string
}

// startStack starts the stack and stops all of it when the test ends.
func startStack(t *testing.T) *stack {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for aiconsent: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &stack{appURL: "http://" + ln.Addr().String(), usageKey: rand.Text()}
	hookKey := rand.Text()
	s.hydra = hydratest.Start(t, hydratest.Options{
		LoginURL:   s.appURL + "/login",
		ConsentURL: s.appURL + "/consent",
		LogoutURL:  s.appURL + "/logout",
		Env: map[string]string{
			"OAUTH2_TOKEN_HOOK": demo.TokenHook(s.appURL+server.HookPath, tokenhook.DefaultHeader, hookKey),
		},
	})

	s.server = startApp(t, ln, s, hookKey)
	s.user = addUser(t, s.server, "alice", "correct horse battery staple", false)

	s.demoSecret = "secret-" + rand.Text()
	s.demoURL = startDemoApp(t, s.hydra, s.demoSecret)
	s.registerExampleApp(t, s.demoSecret)
	return s
}

// startApp serves aiconsent on ln, the listener of s.appURL, with a
// database in a temporary directory, the token hook on and the usage API
// open to one resource server.
func startApp(t *testing.T, ln net.Listener, s *stack, hookKey string) *server.Server {
	t.Helper()

	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.New(context.Background(), server.Config{
		HydraAdminURL:  mustParseURL(t, s.hydra.AdminURL),
		HydraPublicURL: mustParseURL(t, s.hydra.PublicURL),
		PublicURL:      mustParseURL(t, s.appURL),
		HookAPIKey:     hookKey,
		ResourceServers: []usageapi.ResourceServer{
			{Name: "gateway", Key: s.usageKey},
		},
		DatabasePath: filepath.Join(t.TempDir(), "aiconsent.db"),
		Logger:       logger,
	})
	if err != nil {
		t.Fatalf("start aiconsent: %v", err)
	}

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return srv
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse URL %q: %v", raw, err)
	}
	return u
}

// addUser creates an account of aiconsent; an admin may also open the
// page of all grants.
func addUser(t *testing.T, srv *server.Server, username, password string, admin bool) testUser {
	t.Helper()

	hash, err := account.HashPassword(password)
	if err != nil {
		t.Fatalf("hash password: %v", err)
	}
	u := &account.User{Subject: account.NewSubject(), Username: username, PasswordHash: hash, Admin: admin}
	if err := srv.DB().CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %q: %v", username, err)
	}
	return testUser{username: username, password: password, subject: u.Subject}
}

// registerExampleApp registers the Example App's client as `make demo`
// does, with its redirect URI on the port the test's Example App uses.
func (s *stack) registerExampleApp(t *testing.T, secret string) {
	t.Helper()

	u, err := url.Parse(s.demoURL)
	if err != nil {
		t.Fatalf("parse Example App URL %q: %v", s.demoURL, err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("Example App URL %q has no port", s.demoURL)
	}

	client := demo.ExampleClient(demo.Ports{DemoApp: port}, secret)
	if err := demo.RegisterClient(context.Background(), http.DefaultClient, s.hydra.AdminURL, client); err != nil {
		t.Fatalf("register the Example App: %v", err)
	}
}

// testWriter sends log lines to t.Log, so they show only for failing
// tests and verbose runs.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// demoAppBuild guards the one build of the Example App per test binary.
var demoAppBuild struct {
	once sync.Once
	path string
	err  error
}

// demoAppBinary builds cmd/demoapp into workDir once and returns its path.
func demoAppBinary(t *testing.T) string {
	t.Helper()

	demoAppBuild.once.Do(func() {
		path := filepath.Join(workDir, "demoapp")
		cmd := exec.Command("go", "build", "-o", path, "github.com/aiconsent/aiconsent/cmd/demoapp")
		out, err := cmd.CombinedOutput()
		if err != nil {
			demoAppBuild.err = fmt.Errorf("go build cmd/demoapp: %w\n%s", err, out)
			return
		}
		demoAppBuild.path = path
	})
	if demoAppBuild.err != nil {
		t.Fatal(demoAppBuild.err)
	}
	return demoAppBuild.path
}

// startDemoApp runs the Example App on a free port of 127.0.0.1, waits
// until it responds and returns its base URL. It stops the app when the
// test ends and, if the test failed, writes the app's log to the test log.
func startDemoApp(t *testing.T, h *hydratest.Hydra, secret string) string {
	t.Helper()
	bin := demoAppBinary(t)

	var lastErr error
	for range demoAppAttempts {
		p, err := runDemoApp(bin, h, secret)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					t.Logf("Example App log:\n%s", p.log)
				}
			})
			return p.baseURL
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("start the Example App: %v", lastErr)
	return ""
}

// errPortTaken marks an Example App that exited because its port was in use.
var errPortTaken = errors.New("port already in use")

// demoAppProcess is a running Example App.
type demoAppProcess struct {
	baseURL string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	log     *syncBuffer
}

func runDemoApp(bin string, h *hydratest.Hydra, secret string) (*demoAppProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := &demoAppProcess{baseURL: "http://" + addr, log: &syncBuffer{}, done: make(chan struct{})}

	p.cmd = exec.Command(bin)
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DEMOAPP_ADDR=" + addr,
		"DEMOAPP_URL=" + p.baseURL,
		"DEMOAPP_HYDRA_PUBLIC_URL=" + h.PublicURL,
		"DEMOAPP_HYDRA_ADMIN_URL=" + h.AdminURL,
		"DEMOAPP_CLIENT_ID=" + demo.ExampleClientID,
		"DEMOAPP_CLIENT_SECRET=" + secret,
	}
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()

	if err := p.waitReady(); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// waitReady polls GET / until it returns 200, the process exits or
// demoAppStartTimeout passes.
func (p *demoAppProcess) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(demoAppStartTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()

	for {
		resp, err := client.Get(p.baseURL + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}

		select {
		case <-p.done:
			if strings.Contains(p.log.String(), "address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("the Example App exited before it responded:\n%s", p.log)
		case <-deadline:
			return fmt.Errorf("GET %s/ did not return 200 within %s:\n%s", p.baseURL, demoAppStartTimeout, p.log)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, kills the process if it has not exited after
// demoAppStopTimeout, and returns once it has exited.
func (p *demoAppProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(demoAppStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a process's output; the mutex guards String
// against the writes of the process's output goroutines.
type syncBuffer struct {
	mu   sync.Mutex
	data []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.data)
}
