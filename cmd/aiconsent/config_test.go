package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aiconsent/aiconsent/sqlite"
)

func TestReadServeConfig(t *testing.T) {
	valid := map[string]string{
		"HYDRA_ADMIN_URL":  "http://127.0.0.1:4445",
		"HYDRA_PUBLIC_URL": "http://127.0.0.1:4444",
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"valid", nil, ""},
		{"admin URL unset", map[string]string{"HYDRA_ADMIN_URL": ""}, "HYDRA_ADMIN_URL is not set"},
		{"admin URL relative", map[string]string{"HYDRA_ADMIN_URL": "127.0.0.1:4445"}, "HYDRA_ADMIN_URL=\"127.0.0.1:4445\" is not an absolute"},
		{"admin URL other scheme", map[string]string{"HYDRA_ADMIN_URL": "ftp://hydra"}, "not an absolute http or https URL"},
		{"public URL unset", map[string]string{"HYDRA_PUBLIC_URL": ""}, "HYDRA_PUBLIC_URL is not set"},
		{"token URL invalid", map[string]string{"HYDRA_TOKEN_URL": "hydra:4444"}, "HYDRA_TOKEN_URL"},
		{"bad listen address", map[string]string{"AICONSENT_ADDR": "3000"}, "AICONSENT_ADDR"},
		{"wildcard address without public URL", map[string]string{"AICONSENT_ADDR": "0.0.0.0:3000"}, "AICONSENT_PUBLIC_URL is not set"},
		{"wildcard address with public URL", map[string]string{"AICONSENT_ADDR": "0.0.0.0:3000", "AICONSENT_PUBLIC_URL": "https://consent.example"}, ""},
		{"short hook key", map[string]string{"AICONSENT_HOOK_API_KEY": "short"}, "AICONSENT_HOOK_API_KEY is shorter"},
		{"bad boolean", map[string]string{"AICONSENT_SECURE_COOKIES": "yes please"}, "AICONSENT_SECURE_COOKIES"},
		{"bad log level", map[string]string{"AICONSENT_LOG_LEVEL": "loud"}, "AICONSENT_LOG_LEVEL"},
		{"missing catalog file", map[string]string{"AICONSENT_CATALOG": "/nonexistent/catalog.yaml"}, "AICONSENT_CATALOG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range valid {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := readServeConfig(func(k string) string { return env[k] }, io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("readServeConfig(%v) = %v; want no error", tt.env, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("readServeConfig(%v) = %v; want an error containing %q", tt.env, err, tt.wantErr)
			}
		})
	}
}

func TestPublicURLFromAddr(t *testing.T) {
	env := map[string]string{
		"HYDRA_ADMIN_URL":  "http://127.0.0.1:4445",
		"HYDRA_PUBLIC_URL": "http://127.0.0.1:4444",
		"AICONSENT_ADDR":   "127.0.0.1:3999",
	}
	cfg, err := readServeConfig(func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.server.PublicURL.String(), "http://127.0.0.1:3999"; got != want {
		t.Errorf("public URL = %q; want %q", got, want)
	}
}

func TestUserAddRejectsPasswordArgument(t *testing.T) {
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"user", "add", "-username", "alice", "hunter2hunter2"},
		func(string) string { return t.TempDir() + "/db" }, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "never from arguments") {
		t.Errorf("user add with a password argument = %v; want a usage error", err)
	}
}

func TestSpendCommand(t *testing.T) {
	db := t.TempDir() + "/spend.db"
	created, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	getenv := func(k string) string {
		if k == "AICONSENT_DATABASE" {
			return db
		}
		return ""
	}

	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"by user", []string{"spend"}, "USER", ""},
		{"by client today", []string{"spend", "-by", "client", "-period", "daily"}, "CLIENT", ""},
		{"unknown grouping", []string{"spend", "-by", "model"}, "", `-by "model"`},
		{"unknown period", []string{"spend", "-period", "weekly"}, "", `-period "weekly"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(t.Context(), tt.args, getenv, strings.NewReader(""), &out, &errOut)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("run(%q) = %v; want an error containing %q", tt.args, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("run(%q) = %v; want no error", tt.args, err)
			case !strings.Contains(out.String(), tt.want):
				t.Errorf("run(%q) printed %q; want %q", tt.args, out.String(), tt.want)
			}
		})
	}
}

func TestAdminCommandsNeedExistingDatabase(t *testing.T) {
	missing := t.TempDir() + "/missing.db"
	getenv := func(k string) string {
		if k == "AICONSENT_DATABASE" {
			return missing
		}
		return ""
	}
	for _, args := range [][]string{{"grant", "list"}, {"spend"}, {"grant", "pause", "gr_x"}, {"user", "disable", "-username", "x"}} {
		var out, errOut strings.Builder
		err := run(t.Context(), args, getenv, strings.NewReader(""), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("run(%q) = %v; want a database not found error", args, err)
		}
		if _, statErr := os.Stat(missing); statErr == nil {
			t.Fatalf("run(%q) created %s", args, missing)
		}
	}
}
