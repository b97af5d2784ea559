package hydratest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// modulePath is the module path that marks the repository root. The
// separate modules under tools/ have other paths.
const modulePath = "github.com/aiconsent/aiconsent"

// BinaryEnv is the environment variable that, when set, names the Hydra
// binary to run instead of <repository root>/bin/hydra.
const BinaryEnv = "AICONSENT_HYDRA_BIN"

// buildTags enable Hydra's SQLite driver, which `DSN=memory` needs. The
// driver uses cgo, so the build needs gcc.
const buildTags = "sqlite,sqlite_omit_load_extension"

// build guards the one build of bin/hydra per test binary.
var build struct {
	once sync.Once
	err  error
}

// Binary returns the path of the Hydra binary: $AICONSENT_HYDRA_BIN if set,
// else bin/hydra in the repository root, which it builds from tools/hydra
// when missing (a first build took about two minutes on a 2-core machine).
// It fails the test when the binary cannot be found or built.
func Binary(t testing.TB) string {
	t.Helper()

	if path := os.Getenv(BinaryEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s=%q: %v; unset it to use bin/hydra", BinaryEnv, path, err)
		}
		return path
	}

	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find the Hydra binary: %v", err)
	}
	path := filepath.Join(root, "bin", "hydra")

	_, err = os.Stat(path)
	if err == nil {
		return path
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("find the Hydra binary: %v", err)
	}

	build.once.Do(func() { build.err = buildHydra(root, path) })
	if build.err != nil {
		t.Fatalf("build Hydra (or run `make hydra`): %v", build.err)
	}
	return path
}

// buildHydra builds Hydra into a temporary directory next to path and then
// renames it into place, so another test binary never runs a half-written
// file. Two test binaries that build at once both succeed, and the last
// rename wins.
func buildHydra(root, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(path), ".hydra-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)

	tmp := filepath.Join(tmpDir, "hydra")
	cmd := exec.Command("go", "build", "-tags", buildTags, "-o", tmp, "github.com/ory/hydra/v2")
	cmd.Dir = filepath.Join(root, "tools", "hydra")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build -tags %s github.com/ory/hydra/v2 in %s: %w\n%s", buildTags, cmd.Dir, err, out)
	}

	return os.Rename(tmp, path)
}

// repoRoot walks up from the working directory to the directory whose
// go.mod declares modulePath.
func repoRoot() (string, error) {
	start, err := os.Getwd()
	if err != nil {
		return "", err
	}

	for dir := start; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && moduleLine(data) == modulePath {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod with module %s in %q or above it", modulePath, start)
		}
	}
}

// moduleLine returns the module path declared in a go.mod file, or "".
func moduleLine(goMod []byte) string {
	scanner := bufio.NewScanner(bytes.NewReader(goMod))
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}
