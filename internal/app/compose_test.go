package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
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
	Ports    []any    `yaml:"ports"`
	Volumes  []string `yaml:"volumes"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readCompose(t *testing.T) ([]byte, composeFile) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return data, f
}

// TestDockerCompose checks docker-compose.yml without an engine: every
// service has a pinned image (or builds ours), a command and a health check
// (one-shot jobs excepted), the server's environment is a valid
// configuration, and the dependency order is the one the stack needs.
func TestDockerCompose(t *testing.T) {
	_, f := readCompose(t)
	oneShot := map[string]bool{"keygen": true, "migrate": true, "provision": true, "simulator": true}
	for _, name := range []string{"postgres", "dynamodb", "kinesis", "keygen", "migrate", "provision", "oddsfeed", "simulator"} {
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
		"oddsfeed":  {"keygen": "service_completed_successfully", "migrate": "service_completed_successfully", "provision": "service_completed_successfully"},
		"simulator": {"oddsfeed": "service_healthy"},
	} {
		for dep, cond := range deps {
			if got := f.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with %q, want %q", svc, dep, got, cond)
			}
		}
	}
	// The commands are the binary's own.
	for name, want := range map[string]string{"keygen": "keygen", "migrate": "migrate", "provision": "provision", "oddsfeed": "serve", "simulator": "simulate"} {
		if c := f.Services[name].Command; len(c) == 0 || c[0] != want {
			t.Errorf("%s: command %v, want %s ...", name, c, want)
		}
	}

	// The server's environment is a complete, valid aws configuration with
	// the bridge and reporting on; its keys are checked by
	// TestDockerComposeKeys.
	srv := f.Services["oddsfeed"].Environment
	cfg, err := app.LoadConfig(func(k string) string { return srv[k] })
	if err != nil {
		t.Fatalf("oddsfeed service environment: %v", err)
	}
	if cfg.Backend != app.BackendAWS || !cfg.DevBridge || cfg.DatabaseURL == "" || cfg.DynamoDBEndpoint != "http://dynamodb:8000" ||
		cfg.KinesisEndpoint != "http://kinesis:4568" || !strings.HasPrefix(cfg.Addr, "0.0.0.0:") {
		t.Errorf("oddsfeed service configuration: %+v", cfg)
	}
	for _, job := range []string{"migrate", "provision"} {
		env := f.Services[job].Environment
		if _, err := app.LoadConfig(func(k string) string { return env[k] }); err != nil || env["ODDSFEED_DATABASE_URL"] == "" {
			t.Errorf("%s environment: %v", job, err)
		}
	}
}

// TestDockerComposePorts: every published port is bound to the loopback
// interface (the emulators have no authentication, Postgres a fixed
// development password), in the short ("127.0.0.1:5432:5432") or the long
// syntax (host_ip).
func TestDockerComposePorts(t *testing.T) {
	_, f := readCompose(t)
	published := 0
	for name, s := range f.Services {
		for _, p := range s.Ports {
			published++
			var host string
			switch p := p.(type) {
			case string:
				// [host_ip:]host_port:container_port[/proto]; host_ip may be [::1].
				if i := strings.LastIndex(p, "]:"); strings.HasPrefix(p, "[") && i > 0 {
					host = p[1:i]
				} else if parts := strings.Split(p, ":"); len(parts) == 3 {
					host = parts[0]
				}
			case map[string]any:
				host, _ = p["host_ip"].(string)
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("%s: port %v is published on all interfaces (want 127.0.0.1:host:container)", name, p)
			}
		}
	}
	if published == 0 {
		t.Error("no published ports: the dashboard should be reachable on localhost:8080")
	}
}

// hexKey matches a key hash (or a hex key) written into the file.
var hexKey = regexp.MustCompile(`[0-9a-fA-F]{32,}`)

// TestDockerComposeKeys: no API key (nor a key hash) is written in the
// file; the one-shot keygen service makes them at the first start into a
// named volume, which the server reads (ODDSFEED_API_KEYS_FILE) and the
// simulator takes its provider key from. It runs keygen's command against
// a directory standing for the volume and checks the server's keyring and
// the simulator's key come out of it.
func TestDockerComposeKeys(t *testing.T) {
	data, f := readCompose(t)
	if m := hexKey.Find(data); m != nil {
		t.Errorf("docker-compose.yml holds a literal key or key hash %q", m)
	}
	for _, s := range []string{"demo-provider-key", "demo-analyst-key", "demo-admin-key"} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("docker-compose.yml holds the fixed demo key %q", s)
		}
	}
	for name, s := range f.Services {
		for _, v := range []string{"ODDSFEED_API_KEYS", "ODDSFEED_PROVIDER_KEY", "ODDSFEED_DASHBOARD_USERS"} {
			if s.Environment[v] != "" {
				t.Errorf("%s: %s is set in the file; keys come from the keys volume", name, v)
			}
		}
		for i, arg := range s.Command {
			if arg == "-key" || strings.HasPrefix(arg, "-key=") || (i > 0 && s.Command[i-1] == "-key") {
				t.Errorf("%s: a key on the command line: %v", name, s.Command)
			}
		}
	}

	// mount returns the named volume mounted at the directory holding file
	// in service svc, and whether the mount is read-only.
	mount := func(svc, file string) (vol string, ro bool) {
		for _, v := range f.Services[svc].Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				continue
			}
			if dir := path.Clean(parts[1]); dir == path.Dir(file) || dir == file {
				return parts[0], len(parts) == 3 && parts[2] == "ro"
			}
		}
		return "", false
	}
	kg := f.Services["keygen"]
	if len(kg.Command) != 3 || kg.Command[0] != "keygen" || kg.Command[1] != "-dev-dir" {
		t.Fatalf("keygen service: command %v, want keygen -dev-dir <volume dir>", kg.Command)
	}
	dir := kg.Command[2]
	keysVol, ro := mount("keygen", dir+"/dev-keys.txt")
	if _, named := f.Volumes[keysVol]; keysVol == "" || !named || ro {
		t.Fatalf("keygen writes %s, which is not a writable named volume (volumes %v; top level %v)", dir, kg.Volumes, f.Volumes)
	}
	srv := f.Services["oddsfeed"].Environment
	keysFile := srv["ODDSFEED_API_KEYS_FILE"]
	if vol, _ := mount("oddsfeed", keysFile); vol != keysVol || path.Dir(keysFile) != path.Clean(dir) {
		t.Fatalf("the server reads its keys from %q, not from keygen's volume %s at %s", keysFile, keysVol, dir)
	}
	simDir := f.Services["simulator"].Environment["ODDSFEED_DATA_DIR"]
	if vol, _ := mount("simulator", simDir+"/dev-keys.txt"); vol != keysVol {
		t.Fatalf("the simulator's data dir %q is not keygen's volume %s", simDir, keysVol)
	}

	// Run keygen's command on a directory standing for the volume, twice
	// (the second start keeps the keys), then load the server's keyring.
	tmp := t.TempDir()
	var out bytes.Buffer
	env := app.Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
	var keys [2]string
	for i := range keys {
		env.Args = []string{"keygen", "-dev-dir", tmp}
		if err := app.Run(context.Background(), env); err != nil {
			t.Fatalf("keygen: %v\n%s", err, out.String())
		}
		k, err := app.DevKey(tmp, auth.RoleAnalyst)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	if keys[0] != keys[1] {
		t.Error("a second keygen start made new keys")
	}
	if s := out.String(); strings.Contains(s, keys[0]) {
		t.Errorf("keygen printed a key: %s", s)
	}
	spec, err := os.ReadFile(filepath.Join(tmp, path.Base(keysFile)))
	if err != nil {
		t.Fatalf("the server's keys file: %v", err)
	}
	ring, err := auth.ParseKeyring(string(spec))
	if err != nil || ring.Len() != 4 {
		t.Fatalf("server keyring from %s: %v (%d keys)", keysFile, err, ring.Len())
	}
	for _, role := range []auth.Role{auth.RoleProvider, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin} {
		k, err := app.DevKey(tmp, role)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := ring.Authenticate(&http.Request{Header: http.Header{"Authorization": {"Bearer " + k}}}); !ok || p.Role != role {
			t.Errorf("the %s dev key authenticates as %+v, %v", role, p, ok)
		}
	}
	out.Reset()
	env.Args = []string{"keygen", "-dev-dir", tmp, "-show", "analyst"}
	if err := app.Run(context.Background(), env); err != nil || strings.TrimSpace(out.String()) != keys[0] {
		t.Errorf("keygen -show analyst: %v, %q", err, out.String())
	}
}

// TestDockerfile checks the image build: multi-stage (front end, Go, runtime),
// the front end built with npm, a non-root runtime user owning the data
// directory, and no key in the image.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.ModuleRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if n := strings.Count(s, "\nFROM ") + strings.Count(s[:5], "FROM"); n < 3 {
		t.Errorf("%d stages, want front end, build and runtime", n)
	}
	for _, want := range []string{"npm ci", "npm run build", "CGO_ENABLED=0 go build", "USER nonroot", `CMD ["serve"]`,
		// The data directory exists and belongs to nonroot (a named volume
		// mounted there starts with its owner), and is the default data dir.
		"COPY --from=build --chown=65532:65532 /out/data /data\n", "ODDSFEED_DATA_DIR=/data"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^RUN mkdir .*/out/data$`).MatchString(s) {
		t.Error("Dockerfile: the build stage does not make /out/data")
	}
	if m := hexKey.FindString(s); m != "" || strings.Contains(s, "dev-keys") || strings.Contains(s, "ODDSFEED_API_KEYS") {
		t.Errorf("Dockerfile puts keys into the image (%q)", m)
	}
}
