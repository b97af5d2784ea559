package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/internal/hydratest"
)

// syncBuffer is a bytes.Buffer that runDemo's goroutines and the test can
// share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// binDir returns a directory with bin/hydra linked in and the named
// programs of this repository built from ./cmd.
func binDir(t *testing.T, programs ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(hydratest.Binary(t), filepath.Join(dir, "hydra")); err != nil {
		t.Fatal(err)
	}

	for _, name := range programs {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
		}
	}
	return dir
}

func testPorts(t *testing.T) demo.Ports {
	t.Helper()
	p := freePorts(t, 4)
	return demo.Ports{HydraPublic: p[0], HydraAdmin: p[1], App: p[2], DemoApp: p[3]}
}

// startDemo runs runDemo in the background and returns a function that
// waits for its result.
func startDemo(ctx context.Context, opt options, out *syncBuffer) func(time.Duration) (error, bool) {
	result := make(chan error, 1)
	go func() { result <- runDemo(ctx, opt, out) }()

	return func(d time.Duration) (error, bool) {
		select {
		case err := <-result:
			return err, true
		case <-time.After(d):
			return nil, false
		}
	}
}

func TestRunDemo(t *testing.T) {
	opt := options{binDir: binDir(t, "aiconsent", "demoapp"), stateDir: t.TempDir(), ports: testPorts(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	wait := startDemo(ctx, opt, &out)

	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "The demo is running") {
		if err, done := wait(200 * time.Millisecond); done {
			t.Fatalf("runDemo returned %v before it was running; output:\n%s", err, out.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("runDemo did not print its banner within 2 minutes; output:\n%s", out.String())
		}
	}

	t.Run("banner", func(t *testing.T) {
		for _, want := range []string{opt.ports.DemoAppURL(), "Username  demo", "Password  ", "Ctrl-C"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("banner does not contain %q; output:\n%s", want, out.String())
			}
		}
	})
	t.Run("programs ready", func(t *testing.T) {
		for _, target := range []string{
			opt.ports.HydraAdminURL() + "/health/ready",
			opt.ports.AppURL() + "/healthz",
			opt.ports.DemoAppURL() + "/",
		} {
			if got := statusOf(t, target); got != http.StatusOK {
				t.Errorf("GET %s = %d; want 200", target, got)
			}
		}
	})
	t.Run("client registered", func(t *testing.T) {
		resp, err := http.Get(opt.ports.HydraAdminURL() + "/admin/clients/" + demo.ExampleClientID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var client struct {
			RedirectURIs []string `json:"redirect_uris"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&client); err != nil {
			t.Fatalf("decode client: %v", err)
		}
		want := opt.ports.DemoAppURL() + "/callback"
		if len(client.RedirectURIs) != 1 || client.RedirectURIs[0] != want {
			t.Errorf("client redirect_uris = %q; want [%q]", client.RedirectURIs, want)
		}
	})
	t.Run("output prefixed", func(t *testing.T) {
		for _, prefix := range []string{"demo      | ", "aiconsent | ", "demoapp   | "} {
			if !strings.Contains(out.String(), prefix) {
				t.Errorf("output has no line starting %q; output:\n%s", prefix, out.String())
			}
		}
	})

	cancel()
	err, done := wait(30 * time.Second)
	if !done {
		t.Fatalf("runDemo did not return within 30s of cancel")
	}
	if err != nil {
		t.Errorf("runDemo after cancel = %v; want nil", err)
	}
	for _, port := range []int{opt.ports.HydraPublic, opt.ports.HydraAdmin, opt.ports.App, opt.ports.DemoApp} {
		if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			conn.Close()
			t.Errorf("port %d still accepts connections after runDemo returned; want every child stopped", port)
		}
	}
}

func TestRunDemoChildExitsEarly(t *testing.T) {
	dir := binDir(t, "aiconsent")
	script := "#!/bin/sh\necho 'demoapp: broken on purpose' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "demoapp"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opt := options{binDir: dir, stateDir: t.TempDir(), ports: testPorts(t)}
	var out syncBuffer

	err, done := startDemo(context.Background(), opt, &out)(2 * time.Minute)
	if !done {
		t.Fatalf("runDemo did not return within 2 minutes; output:\n%s", out.String())
	}

	var early *earlyExitError
	if !errors.As(err, &early) || early.name != "demoapp" {
		t.Fatalf("runDemo with a failing demoapp = %v; want an early exit of demoapp; output:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "demoapp   | demoapp: broken on purpose") {
		t.Errorf("output lacks the failing child's message; output:\n%s", out.String())
	}
	if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(opt.ports.HydraAdmin)); err == nil {
		conn.Close()
		t.Errorf("Hydra still runs after runDemo returned; want it stopped")
	}
}

func TestRunDemoMissingBinary(t *testing.T) {
	opt := options{binDir: t.TempDir(), stateDir: t.TempDir(), ports: testPorts(t)}

	err := runDemo(context.Background(), opt, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "hydra binary") || !strings.Contains(err.Error(), "make demo") {
		t.Errorf("runDemo with an empty bin directory = %v; want an error naming the hydra binary and make demo", err)
	}
}

func TestRegisterClientCommand(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"missing admin URL", map[string]string{"DEMOAPP_CLIENT_SECRET": "s"}, nil, 1, "HYDRA_ADMIN_URL is not set"},
		{"missing secret", map[string]string{"HYDRA_ADMIN_URL": h.AdminURL}, nil, 1, "DEMOAPP_CLIENT_SECRET is not set"},
		{"extra argument", map[string]string{"HYDRA_ADMIN_URL": h.AdminURL, "DEMOAPP_CLIENT_SECRET": "s"}, []string{"now"}, 1, `unexpected argument "now"`},
		{"creates", map[string]string{"HYDRA_ADMIN_URL": h.AdminURL, "DEMOAPP_CLIENT_SECRET": "a-long-enough-secret"}, nil, 0, `registered OAuth2 client "example-app"`},
		{"replaces", map[string]string{"HYDRA_ADMIN_URL": h.AdminURL + "/", "DEMOAPP_CLIENT_SECRET": "a-long-enough-secret"}, nil, 0, `registered OAuth2 client "example-app"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(key string) string { return tt.env[key] }
			args := append([]string{"register-client"}, tt.args...)

			code := run(context.Background(), args, getenv, &stdout, &stderr)

			if code != tt.wantCode {
				t.Errorf("run(%q) with env %v = %d; want %d; stderr: %s", args, tt.env, code, tt.wantCode, stderr.String())
			}
			if got := stdout.String() + stderr.String(); !strings.Contains(got, tt.wantOut) {
				t.Errorf("run(%q) with env %v printed %q; want it to contain %q", args, tt.env, got, tt.wantOut)
			}
		})
	}

	if got := statusOf(t, h.AdminURL+"/admin/clients/"+demo.ExampleClientID); got != http.StatusOK {
		t.Errorf("GET /admin/clients/%s after register-client = %d; want 200", demo.ExampleClientID, got)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"extra argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)

			if code != 2 {
				t.Errorf("run(%q) = %d; want 2", tt.args, code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) stderr = %q; want it to contain %q", tt.args, stderr.String(), tt.want)
			}
		})
	}
}

func statusOf(t *testing.T, target string) int {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
