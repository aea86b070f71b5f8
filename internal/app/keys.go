package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/oddsfeed/oddsfeed/internal/auth"
	"github.com/oddsfeed/oddsfeed/internal/dashboard"
)

// devKeysFile is where dev keys are written when no keys are configured.
const devKeysFile = "dev-keys.txt"

// loadKeyring builds the keyring from the configuration. With no keys
// configured it makes (once) a provider, an analyst and an admin key for
// local development and writes them, readable only by the owner, into the
// data directory; the keys themselves are never logged.
func loadKeyring(cfg Config, log func(msg string, args ...any)) (*auth.Keyring, error) {
	spec := cfg.APIKeys
	if cfg.APIKeysFile != "" {
		b, err := os.ReadFile(cfg.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("ODDSFEED_API_KEYS_FILE: %w", err)
		}
		spec += "\n" + string(b)
	}
	if strings.TrimSpace(spec) != "" {
		k, err := auth.ParseKeyring(spec)
		if err != nil {
			return nil, fmt.Errorf("API keys (ODDSFEED_API_KEYS / ODDSFEED_API_KEYS_FILE): %w", err)
		}
		return k, nil
	}
	if cfg.Backend != BackendEmbedded {
		return nil, errors.New("no API keys: set ODDSFEED_API_KEYS or ODDSFEED_API_KEYS_FILE (make keys with `oddsfeed keygen`)")
	}
	path := filepath.Join(cfg.DataDir, devKeysFile)
	keys, added, err := ensureDevKeys(path, devPrincipals)
	if added {
		log("no API keys configured: generated development keys", "file", path)
	}
	if err != nil {
		return nil, fmt.Errorf("development keys %s: %w", path, err)
	}
	k, err := auth.ParseKeyring("")
	if err != nil {
		return nil, err
	}
	for _, dk := range keys {
		k.Add(auth.Principal{Name: dk.name, Role: dk.role}, auth.HashKey(dk.key))
	}
	log("using development API keys", "file", path)
	return k, nil
}

type devKey struct {
	name string
	role auth.Role
	key  string
}

// readDevKeys reads lines "name role key".
func readDevKeys(path string) ([]devKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var keys []devKey
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 3 {
			return nil, errors.New("malformed line (want: name role key)")
		}
		keys = append(keys, devKey{parts[0], auth.Role(parts[1]), parts[2]})
	}
	return keys, sc.Err()
}

type devPrincipal struct {
	name string
	role auth.Role
}

// devPrincipals hold the development keys: a provider, an analyst, a
// trader, an admin.
var devPrincipals = []devPrincipal{{"dev-provider", auth.RoleProvider}, {"dev-analyst", auth.RoleAnalyst},
	{"dev-trader", auth.RoleTrader}, {"dev-admin", auth.RoleAdmin}}

// ensureDevKeys reads the development keys at path and makes a key for each
// principal of want the file lacks (the file too, when there is none): the
// keys it had stay. added says whether it made any.
func ensureDevKeys(path string, want []devPrincipal) (keys []devKey, added bool, err error) {
	keys, err = readDevKeys(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k.name] = true
	}
	for _, p := range want {
		if !have[p.name] {
			key, _ := auth.NewKey()
			keys = append(keys, devKey{p.name, p.role, key})
			have[p.name], added = true, true
		}
	}
	if !added {
		return keys, false, nil
	}
	var b strings.Builder
	b.WriteString("# oddsfeed development API keys (generated; for local use only)\n# name role key\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s %s\n", k.name, k.role, k.key)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, false, err
	}
	return keys, true, nil
}

// DevKey returns the development key of a role from a data directory, for
// the simulator and tests.
func DevKey(dataDir string, role auth.Role) (string, error) {
	keys, err := readDevKeys(filepath.Join(dataDir, devKeysFile))
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.role == role {
			return k.key, nil
		}
	}
	return "", fmt.Errorf("no %s key in %s", role, dataDir)
}

// apiKeysFile is where `keygen -dev-dir` writes the hashes of the dev keys,
// in the format of ODDSFEED_API_KEYS_FILE.
const apiKeysFile = "api-keys.txt"

func runKeygen(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "keygen", "Make a random API key. Give the key to its holder; put the printed principal:role:hash line into ODDSFEED_API_KEYS (or its file). Only the hash is stored.", false)
	principal := fs.String("principal", "", "name of the key's holder, e.g. a provider id (required)")
	role := fs.String("role", "provider", "provider, analyst, trader or admin")
	devDir := fs.String("dev-dir", "", "development only: make (once) a provider, an analyst and an admin key into DIR/"+devKeysFile+
		" (mode 0600) and write their hashes to DIR/"+apiKeysFile+" for ODDSFEED_API_KEYS_FILE; prints no key")
	show := fs.String("show", "", "with -dev-dir: print the development key of this role (provider, analyst or admin)")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if *devDir != "" {
		return devKeygen(env, *devDir, auth.Role(*show))
	}
	switch auth.Role(*role) {
	case auth.RoleProvider, auth.RoleAnalyst, auth.RoleTrader, auth.RoleAdmin:
	default:
		fmt.Fprintln(env.Stderr, "keygen: -role must be provider, analyst, trader or admin")
		return ErrUsage
	}
	if *principal == "" || strings.ContainsAny(*principal, ":,\n ") {
		fmt.Fprintln(env.Stderr, "keygen: -principal is required and may not contain ':', ',' or spaces")
		return ErrUsage
	}
	key, hash := auth.NewKey()
	fmt.Fprintf(env.Stdout, "key:    %s\nconfig: %s:%s:%s\n", key, *principal, *role, hash)
	return nil
}

// devKeygen is `keygen -dev-dir`: the keys file of docker compose's one-shot
// keygen service, on a volume the server reads (never in the image).
func devKeygen(env Env, dir string, show auth.Role) error {
	if show != "" {
		key, err := DevKey(dir, show)
		if err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		fmt.Fprintln(env.Stdout, key)
		return nil
	}
	path := filepath.Join(dir, devKeysFile)
	keys, _, err := ensureDevKeys(path, devPrincipals)
	if err != nil {
		return fmt.Errorf("keygen: development keys %s: %w", path, err)
	}
	var b strings.Builder
	b.WriteString("# hashes of the development keys in " + devKeysFile + " (generated by `oddsfeed keygen -dev-dir`)\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:%s:%s\n", k.name, k.role, auth.HashKey(k.key))
	}
	hashes := filepath.Join(dir, apiKeysFile)
	if err := os.WriteFile(hashes, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(env.Stdout, "development keys in %s, their hashes in %s\n", path, hashes)
	return nil
}

// loadUsers reads the dashboard's username/password users.
func loadUsers(cfg Config) (map[string]dashboard.UserEntry, error) {
	spec := cfg.DashboardUsers
	if cfg.DashboardUsersFile != "" {
		b, err := os.ReadFile(cfg.DashboardUsersFile)
		if err != nil {
			return nil, fmt.Errorf("ODDSFEED_DASHBOARD_USERS_FILE: %w", err)
		}
		spec += "\n" + string(b)
	}
	users, err := dashboard.ParseUsers(spec)
	if err != nil {
		return nil, fmt.Errorf("dashboard users (ODDSFEED_DASHBOARD_USERS / _FILE): %w", err)
	}
	return users, nil
}

func runPasswd(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "passwd", "Read a password on standard input and print its hash for ODDSFEED_DASHBOARD_USERS\n(username:role:hash, role analyst or admin).", false)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("passwd: %w", err)
		}
		return errors.New("passwd: empty password")
	}
	fmt.Fprintln(env.Stdout, dashboard.HashPassword(pw))
	return nil
}
