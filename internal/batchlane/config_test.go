package batchlane_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/batchlane"
	"github.com/switchyard/switchyard/internal/yamlx"
)

func TestConfigDefaultsAreTheDocumentedOnes(t *testing.T) {
	c := batchlane.Config{}.WithDefaults()
	want := batchlane.Config{PricePercent: 50, Isolation: "key", MaxOwners: 100000, OwnerTTL: 720 * time.Hour,
		Store: "memory", RedisPrefix: "{switchyard:batchlane}:", StoreTimeout: 2 * time.Second, Mode: batchlane.ModeProviderBatch, MaxRequests: 1000, MaxBatchBytes: 100 << 20, MaxWait: 10 * time.Minute,
		CompletionWindow: 24 * time.Hour, PollInterval: 30 * time.Second, PollGrace: time.Hour,
		RequestTimeout: 2 * time.Minute, SubmitAttempts: 5, MaxJobs: 100000, MaxStoredBytes: 512 << 20,
		ResultTTL: 24 * time.Hour, Workers: 4, BudgetRecheck: time.Second}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

func TestConfigValidateNamesTheBadField(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(c *batchlane.Config)
		field string
	}{
		{"a price above list", func(c *batchlane.Config) { c.PricePercent = 150 }, "price_percent"},
		{"an unknown isolation", func(c *batchlane.Config) { c.Isolation = "tenant" }, "isolation"},
		{"an unknown store", func(c *batchlane.Config) { c.Store = "postgres" }, "store"},
		{"a store timeout that is not positive", func(c *batchlane.Config) { c.StoreTimeout = -time.Second }, "store_timeout"},
		{"an unknown mode", func(c *batchlane.Config) { c.Mode = "later" }, "mode"},
		{"an unknown provider mode", func(c *batchlane.Config) {
			c.ProviderModes = map[string]batchlane.Mode{"vllm": "budget"}
		}, "provider_modes.vllm"},
		{"more requests than OpenAI allows", func(c *batchlane.Config) { c.MaxRequests = 60000 }, "max_requests"},
		{"a file larger than OpenAI allows", func(c *batchlane.Config) { c.MaxBatchBytes = 300 << 20 }, "max_batch_bytes"},
		{"a window in minutes", func(c *batchlane.Config) { c.CompletionWindow = 90 * time.Minute }, "completion_window"},
		{"a negative poll interval", func(c *batchlane.Config) { c.PollInterval = -time.Second }, "poll_interval"},
		{"no submit attempts", func(c *batchlane.Config) { c.SubmitAttempts = -1 }, "submit_attempts"},
		{"fewer jobs than one batch", func(c *batchlane.Config) { c.MaxJobs = 10 }, "max_jobs"},
		{"less memory than one batch", func(c *batchlane.Config) { c.MaxStoredBytes = 1 << 20 }, "max_stored_bytes"},
		{"no workers", func(c *batchlane.Config) { c.Workers = -2 }, "workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := batchlane.Config{}.WithDefaults()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
				t.Fatalf("error %v, want one about %s", err, tt.field)
			}
			if _, err := batchlane.New(c, batchlane.Options{}); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}

func TestConfigDecodesFromYAMLStrictly(t *testing.T) {
	doc := `price_percent: 50
isolation: team
mode: provider_batch
provider_modes:
  vllm: rate_budget
max_requests: 500
max_wait: 5m
completion_window: 24h
poll_interval: 1m
result_ttl: 48h
workers: 2
`
	var c batchlane.Config
	if err := yamlx.Decode("batch_lane.yaml", []byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.Isolation != "team" || c.ProviderModes["vllm"] != batchlane.ModeRateBudget || c.MaxRequests != 500 ||
		c.MaxWait != 5*time.Minute || c.PollInterval != time.Minute || c.ResultTTL != 48*time.Hour || c.Workers != 2 {
		t.Errorf("decoded %+v", c)
	}
	if c.ModeFor("vllm") != batchlane.ModeRateBudget || c.ModeFor("openai") != batchlane.ModeProviderBatch {
		t.Error("ModeFor ignores provider_modes")
	}
	err := yamlx.Decode("batch_lane.yaml", []byte("max_requets: 5\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "batch_lane.yaml:1") {
		t.Errorf("an unknown key: %v, want a file:line error", err)
	}
}
