package app

import (
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzLoadConfig sets one configuration variable (picked by which, the
// others at their defaults) to any text, through LoadConfig as the server
// reads its environment. A refused value gives an error naming the
// variable and never echoing a secret's value; an accepted one yields a
// configuration inside every variable's documented range.
func FuzzLoadConfig(f *testing.F) {
	for i, v := range envVars {
		f.Add(uint8(i), v.def)
	}
	for _, s := range []string{"", "0", "-1", "1e3", "NaN", "Inf", "+Inf", "0x10", "9223372036854775808", "1h1m", "-1s",
		"TRUE", "t", "host", ":80", "[::1]:0", "postgres://u:secret@h/db", "http://x", " a , ,b", "ftp://x"} {
		for i := range envVars {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := envVars[int(which)%len(envVars)].name
		cfg, err := LoadConfig(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, name+"=") {
				t.Fatalf("error %q does not name %s", msg, name)
			}
			if redact(name, value) != value && value != "" && strings.Contains(msg, strconv.Quote(value)) {
				t.Fatalf("error %q shows the secret value of %s", msg, name)
			}
			return
		}
		if bad := invalidConfig(cfg); bad != "" {
			t.Fatalf("%s=%q accepted, but %s", name, value, bad)
		}
		// Unset, the report retention follows the odds TTL up to 720h.
		if want := DefaultReportRetention(cfg.OddsTTL); (name != "ODDSFEED_REPORT_RETENTION" || value == "") && cfg.ReportRetention != want {
			t.Fatalf("%s=%q: report retention %v, want %v (odds TTL %v)", name, value, cfg.ReportRetention, want, cfg.OddsTTL)
		}
	})
}

// invalidConfig returns what in cfg is outside its variable's range.
func invalidConfig(c Config) string {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return "Addr " + c.Addr
	}
	switch {
	case c.Backend != BackendEmbedded && c.Backend != BackendAWS:
		return "Backend " + string(c.Backend)
	case c.MaxBodyBytes < 1024:
		return "MaxBodyBytes < 1024"
	case !(c.ProviderRate > 0) || math.IsInf(c.ProviderRate, 0):
		return "ProviderRate " + strconv.FormatFloat(c.ProviderRate, 'g', -1, 64) + " is not a finite number > 0"
	case c.ProviderBurst < 500:
		return "ProviderBurst < 500"
	case c.OddsTTL < 0:
		return "OddsTTL < 0"
	case c.ShutdownTimeout <= 0:
		return "ShutdownTimeout <= 0"
	case c.ReportRetention < time.Second:
		return "ReportRetention < 1s"
	case c.SessionTTL < time.Minute:
		return "SessionTTL < 1m"
	case c.DevBridgeDuplicateEvery < 0 || c.DevBridgeReorderWindow < 0 || c.DevBridgeMalformedEvery < 0:
		return "a negative dev bridge setting"
	case c.DevBridgePartitionBy != "item" && c.DevBridgePartitionBy != "pk":
		return "DevBridgePartitionBy " + c.DevBridgePartitionBy
	case c.LogLevel != "debug" && c.LogLevel != "info" && c.LogLevel != "warn" && c.LogLevel != "error":
		return "LogLevel " + c.LogLevel
	case c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return "DatabaseURL is not a postgres URL"
	case c.ProviderTimeout < 100*time.Millisecond || c.ProviderTimeout > 24*time.Hour:
		return "ProviderTimeout " + c.ProviderTimeout.String()
	case c.ReplicaID == "" || len(c.ReplicaID) > 120 || strings.Trim(c.ReplicaID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "":
		return "ReplicaID " + c.ReplicaID
	case len(c.KinesisConsumer) > 120 || strings.Trim(c.KinesisConsumer, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "":
		return "KinesisConsumer " + c.KinesisConsumer
	}
	for _, u := range []string{c.DynamoDBEndpoint, c.KinesisEndpoint} {
		if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return "endpoint " + u
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "" || o != strings.TrimSpace(o) || strings.Contains(o, ",") {
			return "allowed origin " + strconv.Quote(o)
		}
	}
	return ""
}
