package replica

import (
	"testing"

	lss3 "github.com/benbjohnson/litestream/s3"
)

// Where an s3 target writes, and which setting wins: the URL's query over
// [replica] s3_*, as in Litestream; a prefix with dot segments is cleaned
// rather than taken literally.
func TestS3TargetSettings(t *testing.T) {
	for _, c := range []struct {
		url        string
		opt        S3Options
		dbPath     string
		files      string
		endpoint   string
		pathStyle  bool
		region, id string
	}{
		{"s3://bucket", S3Options{}, "db", "files/", "", false, "", ""},
		{"s3://bucket/a//b/../c/", S3Options{Endpoint: "http://minio:9000", PathStyle: true, Region: "eu-west-1", AccessKeyID: "AK", SecretAccessKey: "SK"},
			"a/c/db", "a/c/files/", "http://minio:9000", true, "eu-west-1", "AK"},
		{"s3://bucket/../../x", S3Options{Endpoint: "http://minio:9000"}, "x/db", "x/files/", "http://minio:9000", false, "", ""},
		{"s3://bucket/p?endpoint=http://url-wins:9000&region=us-west-2", S3Options{Endpoint: "http://config:9000", Region: "eu-west-1"},
			"p/db", "p/files/", "http://url-wins:9000", true, "us-west-2", ""},
		{"s3://bucket/p?endpoint=http://h:9000&forcePathStyle=false", S3Options{PathStyle: true}, "p/db", "p/files/", "http://h:9000", false, "", ""},
	} {
		t.Run(c.url, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("LITESTREAM_S3_ENDPOINT", "")
			db, files, err := Target{URL: c.url, S3: c.opt}.clients()
			if err != nil {
				t.Fatal(err)
			}
			rc, b := db.(*lss3.ReplicaClient), files.(*s3Blobs)
			if rc.Bucket != "bucket" || b.bucket != "bucket" || rc.Path != c.dbPath || b.prefix != c.files {
				t.Errorf("writes to %s/%s and %s/%s", rc.Bucket, rc.Path, b.bucket, b.prefix)
			}
			if rc.Endpoint != c.endpoint || b.endpoint != c.endpoint || rc.ForcePathStyle != c.pathStyle || b.pathStyle != c.pathStyle {
				t.Errorf("endpoint %q/%q path style %v/%v", rc.Endpoint, b.endpoint, rc.ForcePathStyle, b.pathStyle)
			}
			if rc.Region != c.region || b.region != c.region || rc.AccessKeyID != c.id || b.key != c.id {
				t.Errorf("region %q/%q key %q/%q", rc.Region, b.region, rc.AccessKeyID, b.key)
			}
		})
	}
}
