package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"
)

// S3Options are the [replica] s3_* settings. The URL's query (endpoint,
// region, forcePathStyle, as Litestream reads them) wins over them; keys
// left empty fall back to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and
// the rest of the AWS default chain.
type S3Options struct {
	Endpoint, Region             string
	AccessKeyID, SecretAccessKey string
	PathStyle                    bool
}

// s3Clients builds both halves of an s3://bucket[/prefix] target with the
// same settings: Litestream's own client for the database, and an S3 client
// of the same SDK for the originals.
func (t Target) s3Clients(u *url.URL) (litestream.ReplicaClient, blobs, error) {
	prefix := strings.TrimPrefix(path.Clean("/"+u.Path), "/")
	rc, err := lss3.NewReplicaClientFromURL("s3", u.Host, path.Join(prefix, "db"), u.Query(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("replica %s: %w", t, err)
	}
	c := rc.(*lss3.ReplicaClient)
	explicit := u.Query().Has("forcePathStyle") || u.Query().Has("force-path-style")
	if c.Endpoint == "" && t.S3.Endpoint != "" {
		c.Endpoint = t.S3.Endpoint
		if !explicit {
			c.ForcePathStyle = t.S3.PathStyle
		}
	} else if !explicit && t.S3.PathStyle {
		c.ForcePathStyle = true
	}
	if c.Region == "" {
		c.Region = t.S3.Region
	}
	if t.S3.AccessKeyID != "" {
		c.AccessKeyID, c.SecretAccessKey = t.S3.AccessKeyID, t.S3.SecretAccessKey
	}
	b := &s3Blobs{bucket: c.Bucket, prefix: path.Join(prefix, "files") + "/", endpoint: c.Endpoint, region: c.Region,
		pathStyle: c.ForcePathStyle, key: c.AccessKeyID, secret: c.SecretAccessKey}
	return c, b, nil
}

// s3Blobs is a key prefix in a bucket. An S3 PUT is atomic by itself: an
// object is listed only once it is complete.
type s3Blobs struct {
	bucket, prefix   string // prefix ends with "/"
	endpoint, region string
	pathStyle        bool
	key, secret      string

	mu sync.Mutex
	c  *s3.Client
}

// client builds the S3 client on first use (finding an AWS bucket's region
// needs the network, and New must not).
func (b *s3Blobs) client(ctx context.Context) (*s3.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		return b.c, nil
	}
	// The SDK's own client, so that AWS_CA_BUNDLE applies to it.
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(tr *http.Transport) { tr.TLSHandshakeTimeout = dialTimeout })
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(httpClient)}
	if b.key != "" && b.secret != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(b.key, b.secret, "")))
	}
	region := b.region
	if region == "" && b.endpoint != "" {
		region = lss3.DefaultRegion // what Litestream assumes for other object stores
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: cannot load aws config: %w", err)
	}
	s3opts := func(o *s3.Options) {
		o.UsePathStyle = b.pathStyle
		if b.endpoint != "" {
			endpoint := b.endpoint
			if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
				endpoint = "https://" + endpoint
			}
			o.BaseEndpoint = aws.String(endpoint)
			// Other object stores reject the SDK's default aws-chunked
			// checksums; Litestream turns them off for the same reason.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}
	if region == "" {
		if region, err = manager.GetBucketRegion(ctx, s3.NewFromConfig(cfg, s3opts), b.bucket); err != nil {
			return nil, fmt.Errorf("s3: cannot find the region of bucket %q: %w", b.bucket, err)
		}
		cfg.Region = region
	}
	b.c = s3.NewFromConfig(cfg, s3opts)
	return b.c, nil
}

func (b *s3Blobs) list(ctx context.Context) (map[string]int64, error) {
	c, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket), Prefix: aws.String(b.prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, explainS3(err)
		}
		for _, o := range page.Contents {
			if rel := strings.TrimPrefix(aws.ToString(o.Key), b.prefix); validRel(rel) {
				out[rel] = aws.ToInt64(o.Size)
			}
		}
	}
	return out, nil
}

func (b *s3Blobs) put(ctx context.Context, rel, src string) error {
	c, err := b.client(ctx)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + rel),
		Body: in, ContentLength: aws.Int64(fi.Size())})
	return explainS3(err)
}

func (b *s3Blobs) open(ctx context.Context, rel string) (io.ReadCloser, error) {
	c, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + rel)})
	if err != nil {
		return nil, explainS3(err)
	}
	return out.Body, nil
}

// remove deletes an original; S3 answers a missing key with success.
func (b *s3Blobs) remove(ctx context.Context, rel string) error {
	c, err := b.client(ctx)
	if err != nil {
		return err
	}
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.prefix + rel)})
	return explainS3(err)
}

func (b *s3Blobs) close() error { return nil }

// s3KeyRefused are the error codes of an S3 server that does not take the
// access key and secret.
var s3KeyRefused = map[string]bool{"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true, "AccessDenied": true, "InvalidClientTokenId": true}

// explainS3 says in words why an S3 server refused, for the log and `quire
// doctor`; the SDK's message names only the code.
func explainS3(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch {
		case s3KeyRefused[api.ErrorCode()]:
			return fmt.Errorf("the S3 server refused the credentials (%s): check replica.s3_access_key_id and s3_secret_access_key: %w", api.ErrorCode(), err)
		case api.ErrorCode() == "NoSuchBucket":
			return fmt.Errorf("the bucket does not exist (create it first): %w", err)
		}
	}
	return err
}
