package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oddsfeed/oddsfeed/internal/app"
)

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ODDSFEED_BACKEND": "mongo"}, "ODDSFEED_BACKEND"},
		{map[string]string{"ODDSFEED_ADDR": "8080"}, "ODDSFEED_ADDR"},
		{map[string]string{"ODDSFEED_MAX_BODY_BYTES": "lots"}, "ODDSFEED_MAX_BODY_BYTES"},
		{map[string]string{"ODDSFEED_PROVIDER_RATE": "-1"}, "ODDSFEED_PROVIDER_RATE"},
		{map[string]string{"ODDSFEED_ODDS_TTL": "a year"}, "ODDSFEED_ODDS_TTL"},
		{map[string]string{"ODDSFEED_DYNAMODB_ENDPOINT": "localhost:8000"}, "ODDSFEED_DYNAMODB_ENDPOINT"},
		{map[string]string{"ODDSFEED_KINESIS_CONSUMER": "oddsfeed 1"}, "ODDSFEED_KINESIS_CONSUMER"},
		{map[string]string{"ODDSFEED_DATABASE_URL": "mysql://x"}, "ODDSFEED_DATABASE_URL"},
		{map[string]string{"ODDSFEED_REPORT_RETENTION": "500ms"}, "ODDSFEED_REPORT_RETENTION"},
		{map[string]string{"ODDSFEED_LOG_LEVEL": "loud"}, "ODDSFEED_LOG_LEVEL"},
		{map[string]string{"ODDSFEED_READ_TIMEOUT": "0"}, "ODDSFEED_READ_TIMEOUT"},
		{map[string]string{"ODDSFEED_WRITE_TIMEOUT": "10ms"}, "ODDSFEED_WRITE_TIMEOUT"},
		{map[string]string{"ODDSFEED_IDLE_TIMEOUT": "forever"}, "ODDSFEED_IDLE_TIMEOUT"},
		{map[string]string{"ODDSFEED_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, "ODDSFEED_TRUSTED_PROXIES"},
		{map[string]string{"ODDSFEED_TRUSTED_PROXIES": "10.0.0.0/33"}, "ODDSFEED_TRUSTED_PROXIES"},
		{map[string]string{"ODDSFEED_PROVIDER_TIMEOUT": "30"}, "ODDSFEED_PROVIDER_TIMEOUT"},
		{map[string]string{"ODDSFEED_PROVIDER_TIMEOUT": "10ms"}, "ODDSFEED_PROVIDER_TIMEOUT"},
		{map[string]string{"ODDSFEED_REPLICA_ID": "replica one"}, "ODDSFEED_REPLICA_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := app.LoadConfig(func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v does not name %s", err, tt.want)
			}
		})
	}
	// Secrets never appear in the message.
	_, err := app.LoadConfig(func(k string) string {
		return map[string]string{"ODDSFEED_DATABASE_URL": "mysql://user:hunter2@db", "ODDSFEED_LOG_LEVEL": "loud"}[k]
	})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("secret leaked or no error: %v", err)
	}
	// Defaults run the embedded back end.
	cfg, err := app.LoadConfig(func(string) string { return "" })
	if err != nil || cfg.Backend != app.BackendEmbedded || cfg.DataDir != "./data" ||
		cfg.ReadTimeout != 30*time.Second || cfg.WriteTimeout != 30*time.Second || cfg.IdleTimeout != 120*time.Second || cfg.TrustedProxies != nil ||
		cfg.ProviderTimeout != 30*time.Second || cfg.ReplicaID == "" {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	// Trusted proxies: addresses and prefixes, v4 and v6.
	cfg, err = app.LoadConfig(func(k string) string {
		return map[string]string{"ODDSFEED_TRUSTED_PROXIES": " 10.0.0.1, 172.16.0.0/12,fd00::/8,::1"}[k]
	})
	if got := fmt.Sprint(cfg.TrustedProxies); err != nil || got != "[10.0.0.1/32 172.16.0.0/12 fd00::/8 ::1/128]" {
		t.Fatalf("trusted proxies = %s, %v", got, err)
	}
}

// TestConfigReportRetention: unset, the reports keep quotes as long as the
// store keeps odds (ODDSFEED_ODDS_TTL) up to 720h; set, it wins; below 1s
// or not a duration it is refused with a message naming it.
func TestConfigReportRetention(t *testing.T) {
	for _, tt := range []struct {
		ttl, retention string
		want           time.Duration
	}{
		{"", "", 720 * time.Hour}, // the defaults: nothing changes
		{"2s", "", 2 * time.Second},
		{"719h", "", 719 * time.Hour},
		{"720h", "", 720 * time.Hour},
		{"0", "", 720 * time.Hour}, // odds kept for ever
		{"100ms", "", time.Second},
		{"2s", "1h", time.Hour},
		{"2s", "2000h", 2000 * time.Hour},
		{"", "1s", time.Second},
	} {
		cfg, err := app.LoadConfig(func(k string) string {
			return map[string]string{"ODDSFEED_ODDS_TTL": tt.ttl, "ODDSFEED_REPORT_RETENTION": tt.retention}[k]
		})
		if err != nil || cfg.ReportRetention != tt.want {
			t.Errorf("ODDSFEED_ODDS_TTL=%q ODDSFEED_REPORT_RETENTION=%q: retention %v, %v; want %v", tt.ttl, tt.retention, cfg.ReportRetention, err, tt.want)
		}
	}
	for _, v := range []string{"500ms", "0", "-1h", "a month", "30d"} {
		_, err := app.LoadConfig(func(k string) string {
			return map[string]string{"ODDSFEED_REPORT_RETENTION": v, "ODDSFEED_ODDS_TTL": "2s"}[k]
		})
		if err == nil || !strings.Contains(err.Error(), `ODDSFEED_REPORT_RETENTION="`+v+`": must be a duration of at least 1s`) {
			t.Errorf("ODDSFEED_REPORT_RETENTION=%q: %v", v, err)
		}
	}
}

// TestServeStopsOnBadConfig: the program refuses to start, naming the variable.
func TestServeStopsOnBadConfig(t *testing.T) {
	var out bytes.Buffer
	err := app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: func(k string) string {
		return map[string]string{"ODDSFEED_BACKEND": "aws", "ODDSFEED_ADDR": "nope"}[k]
	}, Stdout: &out, Stderr: &out})
	if err == nil || !strings.Contains(err.Error(), "ODDSFEED_ADDR") {
		t.Fatalf("serve with a bad address: %v", err)
	}
	// aws without keys: refused with a clear message.
	err = app.Run(context.Background(), app.Env{Args: []string{"serve"}, Getenv: func(k string) string {
		return map[string]string{"ODDSFEED_BACKEND": "aws"}[k]
	}, Stdout: &out, Stderr: &out})
	if err == nil || !strings.Contains(err.Error(), "ODDSFEED_API_KEYS") {
		t.Fatalf("aws without keys: %v", err)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, cmd := range []string{"serve", "provision", "simulate", "migrate", "backfill", "replay", "keygen", "healthcheck", "passwd"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := app.Run(context.Background(), app.Env{Args: []string{cmd, "--help"}, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut})
			if err != nil || !strings.Contains(out.String(), "Usage: oddsfeed "+cmd) {
				t.Fatalf("%s --help: %v\n%s%s", cmd, err, out.String(), errOut.String())
			}
		})
	}
	var out bytes.Buffer
	if err := app.Run(context.Background(), app.Env{Args: []string{"frobnicate"}, Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}); !errors.Is(err, app.ErrUsage) {
		t.Fatalf("unknown command: %v", err)
	}
}
