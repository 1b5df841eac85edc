package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// validate checks the [replica] section. Messages name the URL only in its
// redacted form: a password in it must not reach a log or a terminal.
func (r Replica) validate() []error {
	if r.URL == "" {
		return nil
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := ValidateReplicaURL(r.URL); err != nil {
		errs = append(errs, err)
	}
	if d := r.SyncInterval.Duration; d < 100*time.Millisecond || d > time.Hour {
		bad("replica.sync_interval %s: want 100ms to 1h (e.g. 1s)", r.SyncInterval)
	}
	if (r.S3AccessKeyID == "") != (r.S3SecretAccessKey == "") {
		bad("replica.s3_access_key_id and replica.s3_secret_access_key go together: set both or neither")
	}
	if r.S3Endpoint != "" {
		if e, err := url.Parse(r.S3Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			bad("replica.s3_endpoint: want http(s)://host[:port], e.g. https://s3.eu-central-1.example.com")
		}
	}
	if r.Retention.Duration < time.Hour {
		bad("replica.retention %s is too short: use at least 1h (how far back a point-in-time restore can go)", r.Retention)
	}
	return errs
}

// ValidateReplicaURL checks a replica URL (the [replica] section's, or
// `quire restore --from-replica`'s).
func ValidateReplicaURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("replica.url is not a URL: want file:///path, sftp://user@host/path or s3://bucket/prefix")
	case !slices.Contains(ReplicaSchemes, u.Scheme):
		return fmt.Errorf("replica.url %s: scheme %q is not supported: want file:///path, sftp://user@host/path or s3://bucket/prefix", RedactURL(raw), u.Scheme)
	case u.Scheme == "file" && (u.Host != "" || u.Path == "" || u.Path == "/"):
		return fmt.Errorf("replica.url %s: want file:///absolute/path (three slashes; a folder other than /)", RedactURL(raw))
	case u.Scheme == "sftp" && (u.Host == "" || u.User == nil || u.User.Username() == ""):
		return fmt.Errorf("replica.url %s: want sftp://user@host[:port]/path", RedactURL(raw))
	case u.Scheme == "s3" && (u.Host == "" || u.User != nil):
		// Keys belong in [replica] s3_access_key_id / s3_secret_access_key,
		// not in the URL, where Litestream would ignore them.
		return fmt.Errorf("replica.url %s: want s3://bucket[/prefix] (keys go in replica.s3_access_key_id and s3_secret_access_key)", RedactURL(raw))
	}
	return nil
}

// RedactURL shows a replica URL without its password and query values, for
// logs, errors and `quire doctor`.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q.Set(k, "xxxxx")
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
