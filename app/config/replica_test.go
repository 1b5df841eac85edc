package config

import (
	"flag"
	"strings"
	"testing"
)

// The s3 settings are checked at start, with messages that say what to
// write and never repeat a key or secret.
func TestS3ReplicaSettings(t *testing.T) {
	const secret = "s3-secret-hunter2"
	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no bucket", map[string]string{"QUIRE_REPLICA_URL": "s3:///prefix"}, "want s3://bucket[/prefix]"},
		{"keys in the URL", map[string]string{"QUIRE_REPLICA_URL": "s3://AKIAX:" + secret + "@bucket/p"}, "keys go in replica.s3_access_key_id"},
		{"secret without key", map[string]string{"QUIRE_REPLICA_URL": "s3://bucket/p", "QUIRE_REPLICA_S3_SECRET_ACCESS_KEY": secret}, "set both or neither"},
		{"key without secret", map[string]string{"QUIRE_REPLICA_URL": "s3://bucket/p", "QUIRE_REPLICA_S3_ACCESS_KEY_ID": secret}, "set both or neither"},
		{"endpoint without scheme", map[string]string{"QUIRE_REPLICA_URL": "s3://bucket/p", "QUIRE_REPLICA_S3_ENDPOINT": "minio.lan:9000"}, "replica.s3_endpoint: want http(s)://host"},
		{"endpoint with control characters", map[string]string{"QUIRE_REPLICA_URL": "s3://bucket/p", "QUIRE_REPLICA_S3_ENDPOINT": "http://" + secret + "@h\x01"}, "replica.s3_endpoint"},
		{"path style not a bool", map[string]string{"QUIRE_REPLICA_URL": "s3://bucket/p", "QUIRE_REPLICA_S3_PATH_STYLE": "sometimes"}, "QUIRE_REPLICA_S3_PATH_STYLE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want mention of %q", err, c.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the message repeats the secret: %v", err)
			}
		})
	}
	t.Setenv("QUIRE_REPLICA_URL", "s3://bucket/site-a?region=eu-central-1")
	t.Setenv("QUIRE_REPLICA_S3_ENDPOINT", "https://s3.example.com")
	t.Setenv("QUIRE_REPLICA_S3_ACCESS_KEY_ID", "AKIAX")
	t.Setenv("QUIRE_REPLICA_S3_SECRET_ACCESS_KEY", secret)
	t.Setenv("QUIRE_REPLICA_S3_PATH_STYLE", "true")
	cfg, err := Load(flag.NewFlagSet("t", flag.ContinueOnError), nil)
	if err != nil || !cfg.Replica.S3PathStyle || cfg.Replica.S3SecretAccessKey != secret || cfg.Replica.S3Endpoint != "https://s3.example.com" {
		t.Fatalf("a complete s3 section: %v %+v", err, cfg.Replica)
	}
}
