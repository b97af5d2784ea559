package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/aiconsent/aiconsent/access"
	"github.com/aiconsent/aiconsent/server"
	"github.com/aiconsent/aiconsent/sqlite"
	"github.com/aiconsent/aiconsent/usage"
	"github.com/aiconsent/aiconsent/usageapi"
)

// serveConfig is the configuration of aiconsent serve, read from the
// environment and validated before anything starts.
type serveConfig struct {
	addr   string
	server server.Config
}

func readServeConfig(getenv func(string) string, logOut io.Writer) (serveConfig, error) {
	var cfg serveConfig

	raw := getenv("HYDRA_ADMIN_URL")
	if raw == "" {
		return cfg, fmt.Errorf("HYDRA_ADMIN_URL is not set: set it to the base URL of Hydra's admin API, for example HYDRA_ADMIN_URL=http://127.0.0.1:4445")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("HYDRA_ADMIN_URL=%q is not an absolute http or https URL: use a value such as http://127.0.0.1:4445", raw)
	}
	cfg.server.HydraAdminURL = u

	if cfg.server.HydraPublicURL, err = readURL(getenv, "HYDRA_PUBLIC_URL", "http://127.0.0.1:4444", true); err != nil {
		return cfg, err
	}
	if cfg.server.HydraTokenURL, err = readURL(getenv, "HYDRA_TOKEN_URL", "http://hydra:4444/oauth2/token", false); err != nil {
		return cfg, err
	}

	cfg.addr = getenvDefault(getenv, "AICONSENT_ADDR", "127.0.0.1:3000")
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, fmt.Errorf("AICONSENT_ADDR=%q is not a host:port listen address: use a value such as 127.0.0.1:3000", cfg.addr)
	}

	if getenv("AICONSENT_PUBLIC_URL") == "" {
		host, port, _ := net.SplitHostPort(cfg.addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			return cfg, fmt.Errorf("AICONSENT_PUBLIC_URL is not set and AICONSENT_ADDR=%q names no host: set it to this app's URL as browsers reach it, for example AICONSENT_PUBLIC_URL=http://127.0.0.1:3000", cfg.addr)
		}
		cfg.server.PublicURL = &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}
	} else if cfg.server.PublicURL, err = readURL(getenv, "AICONSENT_PUBLIC_URL", "http://127.0.0.1:3000", true); err != nil {
		return cfg, err
	}

	cfg.server.HookAPIKey = getenv("AICONSENT_HOOK_API_KEY")
	if k := cfg.server.HookAPIKey; k != "" && len(k) < 16 {
		return cfg, fmt.Errorf("AICONSENT_HOOK_API_KEY is shorter than 16 characters: use a long random value, for example from: openssl rand -hex 32")
	}

	if v := getenv("AICONSENT_RESOURCE_SERVERS"); v != "" {
		if cfg.server.ResourceServers, err = usageapi.ParseResourceServers(v); err != nil {
			return cfg, fmt.Errorf("AICONSENT_RESOURCE_SERVERS: %w", err)
		}
	}
	if v := getenv("AICONSENT_USAGE_HOLD_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return cfg, fmt.Errorf("AICONSENT_USAGE_HOLD_TTL=%q is not a duration from 1s to 24h: use a value such as 10m", v)
		}
		cfg.server.HoldTTL = d
	}
	if v := getenv("AICONSENT_USAGE_TIMEZONE"); v != "" {
		if cfg.server.Calendar, err = usage.LoadCalendar(v); err != nil {
			return cfg, fmt.Errorf("AICONSENT_USAGE_TIMEZONE=%q is not a known time zone: use an IANA name such as Europe/Berlin, or leave it empty for UTC", v)
		}
	}

	cfg.server.DatabasePath = getenvDefault(getenv, "AICONSENT_DATABASE", "aiconsent.db")

	cat, err := access.LoadCatalog(getenv("AICONSENT_CATALOG"))
	if err != nil {
		return cfg, fmt.Errorf("AICONSENT_CATALOG=%q: %w; point it at a YAML or JSON catalog such as a copy of access/catalog.yaml, or unset it for the built-in one", getenv("AICONSENT_CATALOG"), err)
	}
	cfg.server.Catalog = cat

	for _, b := range []struct {
		name string
		dst  *bool
	}{{"AICONSENT_SECURE_COOKIES", &cfg.server.SecureCookies}, {"AICONSENT_TRUST_PROXY", &cfg.server.TrustProxy}} {
		if v := getenv(b.name); v != "" {
			*b.dst, err = strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("%s=%q is not a boolean: use true or false", b.name, v)
			}
		}
	}

	level := new(slog.LevelVar)
	if v := getenv("AICONSENT_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return cfg, fmt.Errorf("AICONSENT_LOG_LEVEL=%q is not a log level: use debug, info, warn or error", v)
		}
	}
	cfg.server.Logger = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	return cfg, nil
}

// openExistingDatabase opens the database that aiconsent serve uses, for
// admin commands. Unlike serve it never creates the file, so a mistyped
// or unset AICONSENT_DATABASE is reported instead of creating an empty
// database elsewhere.
func openExistingDatabase(ctx context.Context, getenv func(string) string) (*sqlite.DB, error) {
	path := getenvDefault(getenv, "AICONSENT_DATABASE", "aiconsent.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("database AICONSENT_DATABASE=%q not found: set it to the file aiconsent serve uses, for example AICONSENT_DATABASE=.demo/aiconsent.db", path)
	}
	return sqlite.Open(ctx, path)
}

// readURL reads an absolute http or https URL from the named variable.
func readURL(getenv func(string) string, name, example string, required bool) (*url.URL, error) {
	raw := getenv(name)
	if raw == "" {
		if required {
			return nil, fmt.Errorf("%s is not set: set it, for example %s=%s", name, name, example)
		}
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s=%q is not an absolute http or https URL: use a value such as %s", name, raw, example)
	}
	return u, nil
}

func getenvDefault(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
