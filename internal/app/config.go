package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/liveness"
)

// Backend selects the feed store and change source.
type Backend string

// The back ends.
const (
	// BackendEmbedded keeps items and the change log in one local file.
	BackendEmbedded Backend = "embedded"
	// BackendAWS uses DynamoDB and Kinesis (or emulators at given endpoints).
	BackendAWS Backend = "aws"
)

// Config is the server's configuration, read from the environment.
type Config struct {
	Addr    string
	Backend Backend
	DataDir string

	Table            string
	Stream           string
	Region           string
	DynamoDBEndpoint string
	KinesisEndpoint  string
	KinesisConsumer  string
	AccessKeyID      string
	SecretAccessKey  string

	APIKeys     string // key spec: principal:role:sha256hex entries
	APIKeysFile string

	MaxBodyBytes  int64
	ProviderRate  float64
	ProviderBurst int
	OddsTTL       time.Duration
	// LogRetention is how long the embedded change log keeps entries that
	// every consumer has read.
	LogRetention time.Duration

	ShutdownTimeout time.Duration
	LogLevel        string

	// ProviderTimeout is how long a provider may be silent before it is
	// marked down; ReplicaID names this server among the replicas (the
	// holder of the liveness lease).
	ProviderTimeout time.Duration
	ReplicaID       string

	// The HTTP server's limits on each connection (the live stream is
	// exempt from the read and write timeouts).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP give
	// the client's address.
	TrustedProxies []netip.Prefix

	DatabaseURL     string
	ReportRetention time.Duration
	// LocalPostgres is "auto" (serve runs a private Postgres under the
	// data directory for reports when the embedded back end has no
	// DatabaseURL) or "off"; PostgresBin is the directory of its binaries
	// ("" = PATH, then the newest /usr/lib/postgresql/*/bin).
	LocalPostgres string
	PostgresBin   string
	// reportingReady, when set, is waited for before each connection to
	// the reporting database: the private Postgres, until it has started
	// and is migrated.
	reportingReady func(context.Context) error

	DashboardUsers     string // username:role:hash entries
	DashboardUsersFile string
	SecureCookies      bool
	SessionTTL         time.Duration

	AllowedOrigins []string
	DevBridge      bool
	// Fault injection of the development bridge (tests and demos).
	DevBridgeDuplicateEvery int
	DevBridgeReorderWindow  int
	DevBridgePartitionBy    string
	DevBridgeMalformedEvery int
}

// envVar describes one configuration variable: its name, default, help and
// how it is parsed into the Config.
type envVar struct {
	name, def, help string
	set             func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

// envVars is the table of every variable: the README's configuration table
// is generated from the same data by `oddsfeed serve --help`.
var envVars = []envVar{
	{"ODDSFEED_ADDR", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)", func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("must be host:port, e.g. :8080")
		}
		c.Addr = v
		return nil
	}},
	{"ODDSFEED_BACKEND", "embedded", "feed store: embedded (local file, no services) or aws (DynamoDB + Kinesis)", func(c *Config, v string) error {
		switch Backend(v) {
		case BackendEmbedded, BackendAWS:
			c.Backend = Backend(v)
			return nil
		}
		return errors.New("must be embedded or aws")
	}},
	{"ODDSFEED_DATA_DIR", "./data", "directory of the embedded back end's data and generated dev keys", str(func(c *Config) *string { return &c.DataDir })},
	{"ODDSFEED_TABLE", "oddsfeed", "DynamoDB table (aws back end)", str(func(c *Config) *string { return &c.Table })},
	{"ODDSFEED_STREAM", "oddsfeed-changes", "Kinesis stream of the table's changes (aws back end)", str(func(c *Config) *string { return &c.Stream })},
	{"AWS_REGION", "us-east-1", "AWS region (aws back end)", str(func(c *Config) *string { return &c.Region })},
	{"ODDSFEED_DYNAMODB_ENDPOINT", "", "DynamoDB endpoint URL, e.g. http://localhost:8000 for DynamoDB Local; empty = AWS", urlVar(func(c *Config) *string { return &c.DynamoDBEndpoint })},
	{"ODDSFEED_KINESIS_ENDPOINT", "", "Kinesis endpoint URL, e.g. http://localhost:4568 for kinesis-mock; empty = AWS", urlVar(func(c *Config) *string { return &c.KinesisEndpoint })},
	{"ODDSFEED_KINESIS_CONSUMER", "", "Kinesis enhanced fan-out consumer, registered if missing; one name per server (aws back end); empty = poll GetRecords", func(c *Config, v string) error {
		if len(v) > 120 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
			return errors.New("must be at most 120 letters, digits, '_', '.' or '-'")
		}
		c.KinesisConsumer = v
		return nil
	}},
	{"AWS_ACCESS_KEY_ID", "", "static AWS credentials (else the default AWS credential chain)", str(func(c *Config) *string { return &c.AccessKeyID })},
	{"AWS_SECRET_ACCESS_KEY", "", "static AWS credentials (never logged)", str(func(c *Config) *string { return &c.SecretAccessKey })},
	{"ODDSFEED_API_KEYS", "", "API keys as principal:role:sha256hex, comma separated (make them with `oddsfeed keygen`)", str(func(c *Config) *string { return &c.APIKeys })},
	{"ODDSFEED_API_KEYS_FILE", "", "file of API keys, one principal:role:sha256hex per line; if neither is set, dev keys are generated into the data dir", str(func(c *Config) *string { return &c.APIKeysFile })},
	{"ODDSFEED_MAX_BODY_BYTES", "2097152", "largest request body accepted (bytes)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			return errors.New("must be an integer >= 1024")
		}
		c.MaxBodyBytes = n
		return nil
	}},
	{"ODDSFEED_PROVIDER_RATE", "200000", "odds per second each provider may post (token bucket)", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) { // NaN fails f > 0
			return errors.New("must be a finite number > 0")
		}
		c.ProviderRate = f
		return nil
	}},
	{"ODDSFEED_PROVIDER_BURST", "20000", "odds a provider may post at once above the rate", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 500 {
			return errors.New("must be an integer >= 500 (one full batch)")
		}
		c.ProviderBurst = n
		return nil
	}},
	{"ODDSFEED_ODDS_TTL", "8760h", "how long odds are kept before the store's TTL expires them (0 = forever)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("must be a duration such as 8760h, or 0")
		}
		c.OddsTTL = d
		return nil
	}},
	{"ODDSFEED_LOG_RETENTION", "24h", "embedded back end: how long change-log entries read by every consumer are kept", durationVar(time.Second, func(c *Config) *time.Duration { return &c.LogRetention })},
	{"ODDSFEED_SHUTDOWN_TIMEOUT", "15s", "how long shutdown waits for requests in flight", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 15s")
		}
		c.ShutdownTimeout = d
		return nil
	}},
	{"ODDSFEED_READ_TIMEOUT", "30s", "longest a client may take to send a request, headers and body (the live stream is exempt)", durationVar(time.Second, func(c *Config) *time.Duration { return &c.ReadTimeout })},
	{"ODDSFEED_WRITE_TIMEOUT", "30s", "longest a request may take from its end to the end of the answer (the live stream is exempt)", durationVar(time.Second, func(c *Config) *time.Duration { return &c.WriteTimeout })},
	{"ODDSFEED_IDLE_TIMEOUT", "120s", "how long an idle keep-alive connection stays open", durationVar(time.Second, func(c *Config) *time.Duration { return &c.IdleTimeout })},
	{"ODDSFEED_TRUSTED_PROXIES", "", "reverse proxies (IPs or CIDRs, comma separated) whose X-Forwarded-For / X-Real-IP give the client address; empty = the peer address stands", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil || a.Zone() != "" {
					return fmt.Errorf("%q is not an IP address or CIDR prefix such as 10.0.0.0/8", s)
				}
				p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
		return nil
	}},
	{"ODDSFEED_DATABASE_URL", "", "Postgres reporting database (postgres://...); empty = the embedded back end runs its own (ODDSFEED_LOCAL_POSTGRES), aws has no reporting sync or reports API", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
			return errors.New("must be a postgres:// URL")
		}
		c.DatabaseURL = v
		return nil
	}},
	{"ODDSFEED_LOCAL_POSTGRES", "auto", "embedded back end without ODDSFEED_DATABASE_URL: auto runs a private PostgreSQL under the data directory for reports (when its binaries are found), off does not", func(c *Config, v string) error {
		switch v {
		case "auto", "off":
			c.LocalPostgres = v
			return nil
		}
		return errors.New("must be auto or off")
	}},
	{"ODDSFEED_POSTGRES_BIN", "", "directory of the private PostgreSQL's binaries (postgres, initdb, pg_ctl); empty = PATH, then the newest /usr/lib/postgresql/*/bin", str(func(c *Config) *string { return &c.PostgresBin })},
	{"ODDSFEED_REPORT_RETENTION", "", "quotes (odds_ticks, latest_odds) observed longer ago than this leave the Postgres reports (at least 1s); empty = ODDSFEED_ODDS_TTL when that is set and shorter than 720h, else 720h", func(c *Config, v string) error {
		if v == "" {
			c.ReportRetention = 0 // LoadConfig sets the default from the odds TTL
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return errors.New("must be a duration of at least 1s, such as 720h, or empty for the default (the odds TTL when shorter than 720h, else 720h)")
		}
		c.ReportRetention = d
		return nil
	}},
	{"ODDSFEED_DASHBOARD_USERS", "", "dashboard users as username:role:hash (analyst or admin), comma separated; make hashes with `oddsfeed passwd`", str(func(c *Config) *string { return &c.DashboardUsers })},
	{"ODDSFEED_DASHBOARD_USERS_FILE", "", "the same, one per line", str(func(c *Config) *string { return &c.DashboardUsersFile })},
	{"ODDSFEED_SECURE_COOKIES", "false", "mark the dashboard's session cookie Secure (set it when served over TLS)", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		c.SecureCookies = b
		return nil
	}},
	{"ODDSFEED_SESSION_TTL", "12h", "how long a dashboard sign-in lasts", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return errors.New("must be a duration of at least 1m")
		}
		c.SessionTTL = d
		return nil
	}},
	{"ODDSFEED_ALLOWED_ORIGINS", "", "extra browser origins (host patterns, comma separated) allowed to open the live stream; the server's own origin always is", func(c *Config, v string) error {
		c.AllowedOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
		return nil
	}},
	{"ODDSFEED_DEV_BRIDGE", "false", "aws back end on emulators only: run the development bridge DynamoDB Local stream -> kinesis-mock in-process", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		c.DevBridge = b
		return nil
	}},
	{"ODDSFEED_DEV_BRIDGE_DUPLICATE_EVERY", "0", "dev bridge: write every Nth record twice, as Kinesis may (0 = never)", intVar(func(c *Config) *int { return &c.DevBridgeDuplicateEvery })},
	{"ODDSFEED_DEV_BRIDGE_REORDER_WINDOW", "0", "dev bridge: shuffle records of different items within windows of N (0 = off)", intVar(func(c *Config) *int { return &c.DevBridgeReorderWindow })},
	{"ODDSFEED_DEV_BRIDGE_PARTITION_BY", "item", "dev bridge: Kinesis partition key of a record: item (its whole key, as AWS does: a game's odds spread over every shard) or pk (the game: one shard per game)", func(c *Config, v string) error {
		switch v {
		case "item", "pk":
			c.DevBridgePartitionBy = v
			return nil
		}
		return errors.New("must be item or pk")
	}},
	{"ODDSFEED_DEV_BRIDGE_MALFORMED_EVERY", "0", "dev bridge: write an undecodable record after every Nth record (0 = never)", intVar(func(c *Config) *int { return &c.DevBridgeMalformedEvery })},
	{"ODDSFEED_PROVIDER_TIMEOUT", "30s", "a provider silent (no odds, no heartbeat) this long is marked down and its quotes suspended", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > 24*time.Hour {
			return errors.New("must be a duration from 100ms to 24h, such as 30s")
		}
		c.ProviderTimeout = d
		return nil
	}},
	{"ODDSFEED_REPLICA_ID", "", "this server's name among replicas (the one deciding provider liveness holds a lease under it); empty = host name and process id", func(c *Config, v string) error {
		if v == "" {
			v = liveness.DefaultReplica()
		}
		if len(v) > 120 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "" {
			return errors.New("must be at most 120 letters, digits, '_', '.' or '-'")
		}
		c.ReplicaID = v
		return nil
	}},
	{"ODDSFEED_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return errors.New("must be debug, info, warn or error")
	}},
}

func intVar(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("must be an integer >= 0")
		}
		*p(c) = n
		return nil
	}
}

func durationVar(least time.Duration, p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < least {
			return fmt.Errorf("must be a duration of at least %v", least)
		}
		*p(c) = d
		return nil
	}
}

func urlVar(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return errors.New("must be an http:// or https:// URL")
		}
		*p(c) = v
		return nil
	}
}

// LoadConfig reads the configuration from getenv, applying defaults. The
// error names every bad variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	for _, v := range envVars {
		val := getenv(v.name)
		if val == "" {
			val = v.def
		}
		if err := v.set(&c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", v.name, redact(v.name, val), err))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	if c.ReportRetention == 0 {
		c.ReportRetention = DefaultReportRetention(c.OddsTTL)
	}
	return c, nil
}

// DefaultReportRetention is the report retention when
// ODDSFEED_REPORT_RETENTION is not set: the odds TTL when it is set and
// shorter than 720h (the reports keep odds as long as the store does, at
// least 1s), else 720h.
func DefaultReportRetention(oddsTTL time.Duration) time.Duration {
	const most = 720 * time.Hour
	if oddsTTL <= 0 || oddsTTL >= most {
		return most
	}
	return max(oddsTTL, time.Second)
}

// redact hides values of secret variables in error messages.
func redact(name, val string) string {
	if strings.Contains(name, "SECRET") || name == "ODDSFEED_API_KEYS" || name == "ODDSFEED_DATABASE_URL" || name == "ODDSFEED_DASHBOARD_USERS" {
		return "<redacted>"
	}
	return val
}

// ConfigHelp lists every variable with its default, for --help and README.
func ConfigHelp() string {
	var b strings.Builder
	for _, v := range envVars {
		def := v.def
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "  %-28s %s (default %s)\n", v.name, v.help, def)
	}
	return b.String()
}
