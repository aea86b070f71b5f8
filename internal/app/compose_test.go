package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/oddsfeed/oddsfeed/internal/app"
	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/harness"
)

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Profiles []string `yaml:"profiles"`
}

// TestDockerCompose checks docker-compose.yml without an engine: every
// service has a pinned image (or builds ours), a command and a health check
// (one-shot jobs excepted), the server's environment is a valid
// configuration, and the dependency order is the one the stack needs.
func TestDockerCompose(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	oneShot := map[string]bool{"migrate": true, "provision": true, "simulator": true}
	for _, name := range []string{"postgres", "dynamodb", "kinesis", "migrate", "provision", "oddsfeed", "simulator"} {
		s, ok := f.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		switch {
		case s.Build != nil:
		case s.Image == "" || !strings.Contains(s.Image, ":") || strings.HasSuffix(s.Image, ":latest"):
			t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
		}
		if len(s.Command) == 0 && name != "postgres" {
			t.Errorf("%s: no command", name)
		}
		if !oneShot[name] && (s.Healthcheck == nil || len(s.Healthcheck.Test) == 0) {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	for svc, deps := range map[string]map[string]string{
		"migrate":   {"postgres": "service_healthy"},
		"provision": {"dynamodb": "service_healthy", "kinesis": "service_healthy"},
		"oddsfeed":  {"migrate": "service_completed_successfully", "provision": "service_completed_successfully"},
		"simulator": {"oddsfeed": "service_healthy"},
	} {
		for dep, cond := range deps {
			if got := f.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with %q, want %q", svc, dep, got, cond)
			}
		}
	}
	// The commands are the binary's own.
	for name, want := range map[string]string{"migrate": "migrate", "provision": "provision", "oddsfeed": "serve", "simulator": "simulate"} {
		if c := f.Services[name].Command; len(c) == 0 || c[0] != want {
			t.Errorf("%s: command %v, want %s ...", name, c, want)
		}
	}

	// The server's environment is a complete, valid aws configuration with
	// the bridge and reporting on, and its keys parse.
	srv := f.Services["oddsfeed"].Environment
	cfg, err := app.LoadConfig(func(k string) string { return srv[k] })
	if err != nil {
		t.Fatalf("oddsfeed service environment: %v", err)
	}
	if cfg.Backend != app.BackendAWS || !cfg.DevBridge || cfg.DatabaseURL == "" || cfg.DynamoDBEndpoint != "http://dynamodb:8000" ||
		cfg.KinesisEndpoint != "http://kinesis:4568" || !strings.HasPrefix(cfg.Addr, "0.0.0.0:") {
		t.Errorf("oddsfeed service configuration: %+v", cfg)
	}
	keys, err := auth.ParseKeyring(cfg.APIKeys)
	if err != nil || keys.Len() != 3 {
		t.Errorf("oddsfeed service keys: %v (%d keys)", err, keys.Len())
	}
	for _, job := range []string{"migrate", "provision"} {
		env := f.Services[job].Environment
		if _, err := app.LoadConfig(func(k string) string { return env[k] }); err != nil || env["ODDSFEED_DATABASE_URL"] == "" {
			t.Errorf("%s environment: %v", job, err)
		}
	}
	if f.Services["simulator"].Environment["ODDSFEED_PROVIDER_KEY"] == "" {
		t.Error("simulator has no provider key")
	}
}

// TestDockerfile checks the image build: multi-stage (front end, Go, runtime),
// the front end built with npm, and a non-root runtime user.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if n := strings.Count(s, "\nFROM ") + strings.Count(s[:5], "FROM"); n < 3 {
		t.Errorf("%d stages, want front end, build and runtime", n)
	}
	for _, want := range []string{"npm ci", "npm run build", "CGO_ENABLED=0 go build", "USER nonroot", `CMD ["serve"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
