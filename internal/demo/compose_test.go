package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/aiconsent/aiconsent/server"
	"github.com/aiconsent/aiconsent/tokenhook"
)

// The repository root, seen from this package's directory.
const repoRoot = "../.."

// composeFile is the part of docker-compose.yml that the checks read. The
// field types accept both the short and the long form Compose allows.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string             `yaml:"image"`
	Build       composeBuild       `yaml:"build"`
	Command     composeCommand     `yaml:"command"`
	Entrypoint  composeCommand     `yaml:"entrypoint"`
	Environment composeEnv         `yaml:"environment"`
	DependsOn   composeDependsOn   `yaml:"depends_on"`
	Ports       []string           `yaml:"ports"`
	Healthcheck struct{ Test any } `yaml:"healthcheck"`
	Volumes     []string           `yaml:"volumes"`
}

// composeBuild is `build: .` or `build: {context, dockerfile, target}`.
type composeBuild struct {
	Context, Dockerfile, Target string
}

func (b *composeBuild) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		b.Context = node.Value
		return nil
	}
	var long struct{ Context, Dockerfile, Target string }
	if err := node.Decode(&long); err != nil {
		return err
	}
	*b = composeBuild(long)
	return nil
}

// composeCommand is a command as one string or as a list of words.
type composeCommand []string

func (c *composeCommand) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind == yaml.ScalarNode {
		*c = strings.Fields(node.Value)
		return nil
	}
	var words []string
	if err := node.Decode(&words); err != nil {
		return err
	}
	*c = words
	return nil
}

func (c composeCommand) String() string { return strings.Join(c, " ") }

// composeEnv is `environment` as a map or as a list of KEY=value.
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(node *yaml.Node) error {
	env := composeEnv{}
	if node.Kind == yaml.SequenceNode {
		var pairs []string
		if err := node.Decode(&pairs); err != nil {
			return err
		}
		for _, pair := range pairs {
			key, value, _ := strings.Cut(pair, "=")
			env[key] = value
		}
		*e = env
		return nil
	}

	var m map[string]string
	if err := node.Decode(&m); err != nil {
		return err
	}
	for key, value := range m {
		env[key] = value
	}
	*e = env
	return nil
}

// composeDependsOn maps a service to its condition; the list form means
// service_started.
type composeDependsOn map[string]string

func (d *composeDependsOn) UnmarshalYAML(node *yaml.Node) error {
	deps := composeDependsOn{}
	if node.Kind == yaml.SequenceNode {
		var names []string
		if err := node.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			deps[name] = "service_started"
		}
		*d = deps
		return nil
	}

	var long map[string]struct{ Condition string }
	if err := node.Decode(&long); err != nil {
		return err
	}
	for name, dep := range long {
		deps[name] = dep.Condition
	}
	*d = deps
	return nil
}

// composeHydraExceptions are the HydraEnv keys whose compose value differs
// on purpose: in a container Hydra must listen on every interface, because
// the published ports and the other services reach it from outside the
// container's own 127.0.0.1.
var composeHydraExceptions = map[string]string{
	"SERVE_PUBLIC_HOST": "0.0.0.0",
	"SERVE_ADMIN_HOST":  "0.0.0.0",
}

// composeCallerKeys are the Hydra settings that HydraEnv leaves to each
// caller because they hold secrets or depend on where aiconsent runs.
var composeCallerKeys = map[string]bool{"DSN": true, "SECRETS_SYSTEM": true, "OAUTH2_TOKEN_HOOK": true}

// composeChecks each look at one property of docker-compose.yml and return
// one message per problem.
var composeChecks = []struct {
	name  string
	check func(f composeFile) []string
}{
	{"hydra image", func(f composeFile) []string {
		return expectEqual("services.hydra.image", f.Services["hydra"].Image, "oryd/hydra:v2.3.0")
	}},
	{"hydra command", func(f composeFile) []string {
		return expectEqual("services.hydra.command", f.Services["hydra"].Command.String(), "serve all --dev")
	}},
	{"hydra environment equals HydraEnv", checkHydraEnv},
	{"hydra listens on every interface", func(f composeFile) []string {
		var problems []string
		for key, want := range composeHydraExceptions {
			problems = append(problems, expectEqual("services.hydra.environment."+key, f.Services["hydra"].Environment[key], want)...)
		}
		return problems
	}},
	{"hydra secret", func(f composeFile) []string {
		if secret := f.Services["hydra"].Environment["SECRETS_SYSTEM"]; len(secret) < 32 {
			return []string{fmt.Sprintf("services.hydra.environment.SECRETS_SYSTEM has %d characters; want at least 32 (Hydra rejects shorter ones)", len(secret))}
		}
		return nil
	}},
	{"hydra ports on 127.0.0.1", func(f composeFile) []string {
		return expectPorts("hydra", f, "127.0.0.1:4444:4444", "127.0.0.1:4445:4445")
	}},
	{"DSN points at postgres", checkDSN},
	{"postgres present", func(f composeFile) []string {
		pg, ok := f.Services["postgres"]
		if !ok {
			return []string{"services.postgres is missing"}
		}
		var problems []string
		if !strings.HasPrefix(pg.Image, "postgres:") {
			problems = append(problems, fmt.Sprintf("services.postgres.image = %q; want postgres:<version>", pg.Image))
		}
		if !strings.Contains(fmt.Sprint(pg.Healthcheck.Test), "pg_isready") {
			problems = append(problems, fmt.Sprintf("services.postgres.healthcheck.test = %v; want a pg_isready check", pg.Healthcheck.Test))
		}
		return problems
	}},
	{"migration runs migrate sql", func(f composeFile) []string {
		m := f.Services["hydra-migrate"]
		problems := expectEqual("services.hydra-migrate.image", m.Image, f.Services["hydra"].Image)
		command := " " + m.Command.String() + " "
		if !strings.HasPrefix(command, " migrate sql ") || !strings.Contains(command, " -e ") || !strings.Contains(command, " --yes ") {
			problems = append(problems, fmt.Sprintf("services.hydra-migrate.command = %q; want migrate sql up -e --yes", m.Command))
		}
		return append(problems, expectEqual("services.hydra-migrate.environment.DSN", m.Environment["DSN"], f.Services["hydra"].Environment["DSN"])...)
	}},
	{"migration waits for postgres", func(f composeFile) []string {
		return expectEqual("services.hydra-migrate.depends_on.postgres.condition", f.Services["hydra-migrate"].DependsOn["postgres"], "service_healthy")
	}},
	{"hydra waits for migration", func(f composeFile) []string {
		return expectEqual("services.hydra.depends_on.hydra-migrate.condition", f.Services["hydra"].DependsOn["hydra-migrate"], "service_completed_successfully")
	}},
	{"aiconsent builds from Dockerfile", func(f composeFile) []string {
		return expectBuild("aiconsent", f, "aiconsent")
	}},
	{"aiconsent environment", func(f composeFile) []string {
		env := f.Services["aiconsent"].Environment
		want := map[string]string{
			"HYDRA_ADMIN_URL":      "http://hydra:4445",
			"HYDRA_PUBLIC_URL":     DefaultPorts().HydraPublicURL(),
			"HYDRA_TOKEN_URL":      "http://hydra:4444/oauth2/token",
			"AICONSENT_ADDR":       "0.0.0.0:3000",
			"AICONSENT_PUBLIC_URL": DefaultPorts().AppURL(),
		}
		var problems []string
		for _, key := range sortedKeys(want) {
			problems = append(problems, expectEqual("services.aiconsent.environment."+key, env[key], want[key])...)
		}
		if db := env["AICONSENT_DATABASE"]; !onVolume(db, f.Services["aiconsent"].Volumes) {
			problems = append(problems, fmt.Sprintf("services.aiconsent.environment.AICONSENT_DATABASE = %q is not on a mounted volume %q", db, f.Services["aiconsent"].Volumes))
		}
		return problems
	}},
	{"token hook reaches aiconsent", checkTokenHook},
	{"aiconsent port on 127.0.0.1", func(f composeFile) []string {
		return expectPorts("aiconsent", f, "127.0.0.1:3000:3000")
	}},
	{"demoapp builds from Dockerfile", func(f composeFile) []string {
		return expectBuild("demoapp", f, "demoapp")
	}},
	{"demoapp environment", checkDemoAppEnv},
	{"demoapp port on 127.0.0.1", func(f composeFile) []string {
		return expectPorts("demoapp", f, "127.0.0.1:5555:5555")
	}},
	{"example client registered first", func(f composeFile) []string {
		c := f.Services["example-client"]
		problems := expectBuild("example-client", f, "demoapp")
		problems = append(problems, expectEqual("services.example-client.entrypoint", c.Entrypoint.String(), "/usr/local/bin/demo register-client")...)
		problems = append(problems, expectEqual("services.example-client.environment.HYDRA_ADMIN_URL", c.Environment["HYDRA_ADMIN_URL"], "http://hydra:4445")...)
		problems = append(problems, expectEqual("services.example-client.environment.DEMOAPP_CLIENT_SECRET", c.Environment["DEMOAPP_CLIENT_SECRET"], f.Services["demoapp"].Environment["DEMOAPP_CLIENT_SECRET"])...)
		return append(problems, expectEqual("services.demoapp.depends_on.example-client.condition", f.Services["demoapp"].DependsOn["example-client"], "service_completed_successfully")...)
	}},
}

func TestCompose(t *testing.T) {
	f := readCompose(t)

	for _, c := range composeChecks {
		t.Run(c.name, func(t *testing.T) {
			for _, problem := range c.check(f) {
				t.Error(problem)
			}
		})
	}
}

// TestComposeChecksFail feeds the checks a compose file with every
// property wrong, so a check that can never fail shows up here.
func TestComposeChecksFail(t *testing.T) {
	var broken composeFile
	if err := yaml.Unmarshal([]byte(brokenCompose), &broken); err != nil {
		t.Fatalf("parse brokenCompose: %v", err)
	}

	for _, c := range composeChecks {
		t.Run(c.name, func(t *testing.T) {
			if problems := c.check(broken); len(problems) == 0 {
				t.Errorf("check %q found no problem in brokenCompose; want at least one", c.name)
			}
		})
	}
}

const brokenCompose = `
services:
  postgres:
    image: mysql:8
    healthcheck:
      test: ["CMD", "true"]
  hydra-migrate:
    image: oryd/hydra:v2.2.0
    command: ["migrate", "status"]
    environment: ["DSN=postgres://other@db:5432/hydra"]
    depends_on: [postgres]
  hydra:
    image: oryd/hydra:latest
    command: serve all
    environment:
      DSN: postgres://hydra@localhost:5432/hydra
      SECRETS_SYSTEM: short
      STRATEGIES_SCOPE: wildcard
      SERVE_PUBLIC_HOST: 127.0.0.1
      SERVE_ADMIN_HOST: 127.0.0.1
    ports: ["4444:4444", "4445:4445"]
    depends_on: [hydra-migrate]
  aiconsent:
    build: ./elsewhere
    environment:
      HYDRA_ADMIN_URL: http://127.0.0.1:4445
      AICONSENT_DATABASE: /tmp/aiconsent.db
    ports: ["3000:3000"]
  example-client:
    image: curlimages/curl
  demoapp:
    image: example/demoapp
    environment:
      DEMOAPP_HYDRA_PUBLIC_URL: http://hydra:4444
      DEMOAPP_CLIENT_SECRET: one
    ports: ["5555:5555"]
`

func TestComposeBuildTargetsExist(t *testing.T) {
	f := readCompose(t)
	targets := dockerfileTargets(t)

	for name, service := range f.Services {
		if service.Build.Context == "" {
			continue
		}
		if !targets[service.Build.Target] {
			t.Errorf("services.%s.build.target = %q; want one of the Dockerfile stages %v", name, service.Build.Target, sortedKeys(targets))
		}
	}
}

func readCompose(t *testing.T) composeFile {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return f
}

// dockerfileTargets returns the stage names (FROM ... AS name) of the
// Dockerfile.
func dockerfileTargets(t *testing.T) map[string]bool {
	t.Helper()

	file, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	defer file.Close()

	targets := map[string]bool{}
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 4 && strings.EqualFold(fields[0], "FROM") && strings.EqualFold(fields[2], "AS") {
			targets[fields[3]] = true
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	return targets
}

func checkHydraEnv(f composeFile) []string {
	got := f.Services["hydra"].Environment
	want := HydraEnv(DefaultPorts())
	var problems []string

	for _, key := range sortedKeys(want) {
		if _, excepted := composeHydraExceptions[key]; excepted {
			continue
		}
		value, ok := got[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("services.hydra.environment.%s is missing; want %q", key, want[key]))
			continue
		}
		problems = append(problems, expectEqual("services.hydra.environment."+key, value, want[key])...)
	}

	for _, key := range sortedKeys(got) {
		_, shared := want[key]
		if !shared && !composeCallerKeys[key] {
			problems = append(problems, fmt.Sprintf("services.hydra.environment.%s = %q is not in HydraEnv; add it there so make demo and the tests use it too", key, got[key]))
		}
	}
	return problems
}

// checkTokenHook compares Hydra's OAUTH2_TOKEN_HOOK with the setting
// TokenHook makes for aiconsent's hook endpoint and API key, as JSON values.
func checkTokenHook(f composeFile) []string {
	key := f.Services["aiconsent"].Environment["AICONSENT_HOOK_API_KEY"]
	if len(key) < 16 {
		return []string{fmt.Sprintf("services.aiconsent.environment.AICONSENT_HOOK_API_KEY has %d characters; want at least 16 (aiconsent rejects shorter keys)", len(key))}
	}

	got := f.Services["hydra"].Environment["OAUTH2_TOKEN_HOOK"]
	want := TokenHook("http://aiconsent:3000"+server.HookPath, tokenhook.DefaultHeader, key)
	var gotValue, wantValue any
	if err := json.Unmarshal([]byte(got), &gotValue); err != nil {
		return []string{fmt.Sprintf("services.hydra.environment.OAUTH2_TOKEN_HOOK = %q is not JSON: %v", got, err)}
	}
	_ = json.Unmarshal([]byte(want), &wantValue)

	if !reflect.DeepEqual(gotValue, wantValue) {
		return []string{fmt.Sprintf("services.hydra.environment.OAUTH2_TOKEN_HOOK = %s; want %s", got, want)}
	}
	return nil
}

func checkDSN(f composeFile) []string {
	dsn := f.Services["hydra"].Environment["DSN"]
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "postgres" {
		return []string{"services.hydra.environment.DSN is not a postgres:// URL"}
	}

	var problems []string
	if u.Hostname() != "postgres" {
		problems = append(problems, fmt.Sprintf("services.hydra.environment.DSN host = %q; want the postgres service", u.Hostname()))
	}
	if u.Query().Get("sslmode") != "disable" {
		problems = append(problems, "services.hydra.environment.DSN lacks sslmode=disable; the postgres service has no TLS")
	}
	return problems
}

func checkDemoAppEnv(f composeFile) []string {
	env := f.Services["demoapp"].Environment
	want := map[string]string{
		"DEMOAPP_ADDR":                  "0.0.0.0:5555",
		"DEMOAPP_URL":                   DefaultPorts().DemoAppURL(),
		"DEMOAPP_HYDRA_PUBLIC_URL":      DefaultPorts().HydraPublicURL(),
		"DEMOAPP_HYDRA_BACKCHANNEL_URL": "http://hydra:4444",
		"DEMOAPP_HYDRA_ADMIN_URL":       "http://hydra:4445",
		"DEMOAPP_CLIENT_ID":             ExampleClientID,
	}

	var problems []string
	for _, key := range sortedKeys(want) {
		problems = append(problems, expectEqual("services.demoapp.environment."+key, env[key], want[key])...)
	}
	return problems
}

func expectEqual(field, got, want string) []string {
	if got == want {
		return nil
	}
	return []string{fmt.Sprintf("%s = %q; want %q", field, got, want)}
}

func expectPorts(service string, f composeFile, want ...string) []string {
	var problems []string
	for _, port := range want {
		if !slices.Contains(f.Services[service].Ports, port) {
			problems = append(problems, fmt.Sprintf("services.%s.ports = %q; want it to contain %q", service, f.Services[service].Ports, port))
		}
	}
	return problems
}

func expectBuild(service string, f composeFile, target string) []string {
	b := f.Services[service].Build
	problems := expectEqual("services."+service+".build.context", b.Context, ".")
	if b.Dockerfile != "" && b.Dockerfile != "Dockerfile" {
		problems = append(problems, fmt.Sprintf("services.%s.build.dockerfile = %q; want Dockerfile", service, b.Dockerfile))
	}
	return append(problems, expectEqual("services."+service+".build.target", b.Target, target)...)
}

// onVolume reports whether path lies under the container side of one of
// the volume mounts ("name:/data" or "name:/data:rw").
func onVolume(path string, volumes []string) bool {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && path != "" && strings.HasPrefix(path, strings.TrimSuffix(parts[1], "/")+"/") {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
