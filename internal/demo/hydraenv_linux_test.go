package demo_test

import (
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/aiconsent/aiconsent/internal/hydratest"
)

// TestHydraEnvLoopbackOnly dials Hydra's ports on 127.0.0.2, which is a
// loopback address on Linux that a socket bound to 127.0.0.1 does not
// accept but one bound to every interface does.
func TestHydraEnvLoopbackOnly(t *testing.T) {
	h := hydratest.Start(t, hydratest.Options{})

	for name, base := range map[string]string{"SERVE_PUBLIC_HOST": h.PublicURL, "SERVE_ADMIN_HOST": h.AdminURL} {
		u, _ := url.Parse(base)
		other := net.JoinHostPort("127.0.0.2", u.Port())

		conn, err := net.Dial("tcp", other)
		if err == nil {
			conn.Close()
			t.Errorf("dial %s succeeded; want connection refused because %s binds 127.0.0.1 only", other, name)
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s: %v; want connection refused", other, err)
		}
	}
}
