package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aiconsent/aiconsent/internal/demo"
)

// registerClient waits until Hydra's admin API is ready, then creates or
// replaces the Example App's client with the ports of docker-compose.yml.
func registerClient(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: configure it with HYDRA_ADMIN_URL and DEMOAPP_CLIENT_SECRET", args[0])
	}
	adminURL := strings.TrimSuffix(getenv("HYDRA_ADMIN_URL"), "/")
	if adminURL == "" {
		return errors.New("HYDRA_ADMIN_URL is not set: set it to Hydra's admin URL, for example HYDRA_ADMIN_URL=http://hydra:4445")
	}
	secret := getenv("DEMOAPP_CLIENT_SECRET")
	if secret == "" {
		return errors.New("DEMOAPP_CLIENT_SECRET is not set: set it to the secret the Example App uses")
	}

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := waitForHydra(ctx, adminURL+"/health/ready"); err != nil {
		return err
	}

	client := demo.ExampleClient(demo.DefaultPorts(), secret)
	if err := demo.RegisterClient(ctx, &http.Client{Timeout: 10 * time.Second}, adminURL, client); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered OAuth2 client %q at %s\n", client.ClientID, adminURL)
	return nil
}

func waitForHydra(ctx context.Context, target string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()

	for {
		if answers200(ctx, client, target) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s did not return 200 within %s: is Hydra running?", target, readyTimeout)
		case <-tick.C:
		}
	}
}
