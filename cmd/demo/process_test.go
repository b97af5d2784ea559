package main

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aiconsent/aiconsent/internal/demo"
	"github.com/aiconsent/aiconsent/server"
	"github.com/aiconsent/aiconsent/tokenhook"
)

func TestPrefixWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"ready\n"}, "hydra     | ready\n"},
		{"two lines in one write", []string{"a\nb\n"}, "hydra     | a\nhydra     | b\n"},
		{"line split over writes", []string{"sta", "rted\n"}, "hydra     | started\n"},
		{"carriage return dropped", []string{"windows\r\n"}, "hydra     | windows\n"},
		{"last line without newline", []string{"done\nbye"}, "hydra     | done\nhydra     | bye\n"},
		{"empty line kept", []string{"\n"}, "hydra     | \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := newConsole(&out, "aiconsent", "hydra").writer("hydra")
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
				}
			}
			w.flush()

			if got := out.String(); got != tt.want {
				t.Errorf("writes %q gave %q; want %q", tt.writes, got, tt.want)
			}
		})
	}
}

func TestReadablePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		p := readablePassword()

		groups := strings.Split(p, "-")
		if len(groups) != 4 {
			t.Fatalf("readablePassword() = %q; want 4 groups separated by '-'", p)
		}
		for _, g := range groups {
			if len(g) != 4 || strings.Trim(g, passwordAlphabet) != "" {
				t.Fatalf("readablePassword() = %q; group %q is not 4 characters of %q", p, g, passwordAlphabet)
			}
		}
		if seen[p] {
			t.Fatalf("readablePassword() returned %q twice", p)
		}
		seen[p] = true
	}
}

func TestRandomFromCoversAlphabet(t *testing.T) {
	counts := map[rune]int{}
	for _, r := range randomFrom(passwordAlphabet, 31*200) {
		counts[r]++
	}

	for _, r := range passwordAlphabet {
		// Expected 200 each; below 100 means a skewed or broken choice.
		if counts[r] < 100 {
			t.Errorf("randomFrom picked %q %d times in %d draws; want about 200", r, counts[r], 31*200)
		}
	}
}

func TestCheckPortsFree(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	free := freePorts(t, 4)

	tests := []struct {
		name    string
		ports   demo.Ports
		wantErr string // "" means no error
	}{
		{"all free", demo.Ports{HydraPublic: free[0], HydraAdmin: free[1], App: free[2], DemoApp: free[3]}, ""},
		{"app port busy", demo.Ports{HydraPublic: free[0], HydraAdmin: free[1], App: busyPort, DemoApp: free[3]}, "(aiconsent) already in use"},
		{"admin port busy", demo.Ports{HydraPublic: free[0], HydraAdmin: busyPort, App: free[2], DemoApp: free[3]}, "(Hydra admin API) already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPortsFree(tt.ports)

			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("checkPortsFree(%+v) = %v; want nil", tt.ports, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkPortsFree(%+v) = %v; want an error containing %q", tt.ports, err, tt.wantErr)
			}
		})
	}
}

func TestResetState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := []string{"aiconsent.db", "aiconsent.db-wal", "aiconsent.db-shm"}
	for _, name := range old {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}

	db, err := resetState(dir)
	if err != nil {
		t.Fatalf("resetState(%q) = %v; want nil", dir, err)
	}

	if want := filepath.Join(dir, "aiconsent.db"); db != want {
		t.Errorf("resetState(%q) path = %q; want %q", dir, db, want)
	}
	for _, name := range old {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after resetState, %s: Stat error = %v; want not exist", name, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("resetState removed an unrelated file: %v", err)
	}
}

func TestResetStateCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")

	if _, err := resetState(dir); err != nil {
		t.Fatalf("resetState(%q) = %v; want nil", dir, err)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		t.Errorf("resetState(%q) left no directory: %v", dir, err)
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func TestHookConstantsMatchAiconsent(t *testing.T) {
	if hookPath != server.HookPath {
		t.Errorf("hookPath = %q; want server.HookPath %q", hookPath, server.HookPath)
	}
	if hookHeader != tokenhook.DefaultHeader {
		t.Errorf("hookHeader = %q; want tokenhook.DefaultHeader %q", hookHeader, tokenhook.DefaultHeader)
	}
}
