package replica

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	lsftp "github.com/benbjohnson/litestream/sftp"

	"quire/app/config"
)

// Target is where a replica lives: URL is file:///path,
// sftp://user[:password]@host[:port]/path or s3://bucket[/prefix]. The
// database goes to <path>/db (Litestream's LTX files), the originals to
// <path>/files.
type Target struct {
	URL        string
	SSHKeyPath string
	SSHHostKey string
	S3         S3Options
}

// TargetFromConfig is the target of the [replica] section.
func TargetFromConfig(r config.Replica) Target {
	return Target{URL: r.URL, SSHKeyPath: r.SSHKeyPath, SSHHostKey: r.SSHHostKey, S3: S3Options{
		Endpoint: r.S3Endpoint, Region: r.S3Region, AccessKeyID: r.S3AccessKeyID, SecretAccessKey: r.S3SecretAccessKey, PathStyle: r.S3PathStyle}}
}

// dialTimeout bounds connecting to an SFTP target, so an unreachable one is
// reported in seconds rather than Litestream's default of 30.
const dialTimeout = 10 * time.Second

// String is the target without its secrets.
func (t Target) String() string { return config.RedactURL(t.URL) }

// clients builds the two halves of the target; nothing is contacted yet.
func (t Target) clients() (litestream.ReplicaClient, blobs, error) {
	if err := config.ValidateReplicaURL(t.URL); err != nil {
		return nil, nil, err
	}
	u, _ := url.Parse(t.URL)
	root := path.Clean(u.Path)
	switch u.Scheme {
	case "file":
		return file.NewReplicaClient(filepath.Join(filepath.FromSlash(root), "db")),
			dirBlobs{root: filepath.Join(filepath.FromSlash(root), "files")}, nil
	case "sftp":
		password, _ := u.User.Password()
		c := lsftp.NewReplicaClient()
		c.Host, c.User, c.Password = u.Host, u.User.Username(), password
		c.Path, c.KeyPath, c.HostKey, c.DialTimeout = path.Join(root, "db"), t.SSHKeyPath, t.SSHHostKey, dialTimeout
		b, err := newSFTPBlobs(u.Host, u.User.Username(), password, path.Join(root, "files"), t.SSHKeyPath, t.SSHHostKey, dialTimeout)
		if err != nil {
			return nil, nil, err
		}
		return c, b, nil
	case "s3":
		return t.s3Clients(u)
	}
	return nil, nil, fmt.Errorf("replica %s: unsupported scheme %q", t, u.Scheme)
}
