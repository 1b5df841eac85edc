package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// blobs is the files half of a replica target: originals by their path
// under the files folder ("<workspace>/<document>"). Puts are atomic (a
// hidden temporary name, then a rename), so a listing never shows a
// half-copied original.
type blobs interface {
	list(ctx context.Context) (map[string]int64, error) // path → size
	put(ctx context.Context, rel, src string) error
	open(ctx context.Context, rel string) (io.ReadCloser, error)
	remove(ctx context.Context, rel string) error
	close() error
}

// validRel accepts only what the files folder itself holds: slash-separated
// local names, no dot-files (staging and temporary names start with a dot).
func validRel(rel string) bool {
	if rel == "" || !filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, "\\") {
		return false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

// dirBlobs is a folder (file:// targets).
type dirBlobs struct{ root string }

func (d dirBlobs) list(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == d.root {
			return fs.SkipDir
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.root, p)
		if !e.Type().IsRegular() || !validRel(filepath.ToSlash(rel)) {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fi.Size()
		return nil
	})
	return out, err
}

func (d dirBlobs) put(_ context.Context, rel, src string) error {
	dst := filepath.Join(d.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".partial-")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func (d dirBlobs) open(_ context.Context, rel string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.root, filepath.FromSlash(rel)))
}

func (d dirBlobs) remove(_ context.Context, rel string) error {
	err := os.Remove(filepath.Join(d.root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (d dirBlobs) close() error { return nil }

// sftpBlobs is a folder on an SFTP server. It dials lazily and redials after
// a broken connection, so a server that comes back is used again.
type sftpBlobs struct {
	addr, root string
	config     *ssh.ClientConfig

	mu  sync.Mutex
	ssh *ssh.Client
	c   *sftp.Client
}

func newSFTPBlobs(host, user, password, root, keyPath, hostKey string, timeout time.Duration) (*sftpBlobs, error) {
	cfg := &ssh.ClientConfig{User: user, Timeout: timeout}
	if hostKey != "" {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
		if err != nil {
			return nil, fmt.Errorf("replica.ssh_host_key is not an authorized_keys line: %w", err)
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(pub)
	} else {
		// Documented: without a pinned host key the server is not authenticated.
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec
	}
	if password != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(password))
	}
	if keyPath != "" {
		buf, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, fmt.Errorf("replica.ssh_key_path: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(buf)
		if err != nil {
			return nil, fmt.Errorf("replica.ssh_key_path %s is not a private key: %w", keyPath, err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "22")
	}
	return &sftpBlobs{addr: addr, root: root, config: cfg}, nil
}

func (s *sftpBlobs) client() (*sftp.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c, nil
	}
	conn, err := ssh.Dial("tcp", s.addr, s.config)
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s.ssh, s.c = conn, c
	return c, nil
}

// forget drops a connection after an error other than a missing file, so
// the next call redials.
func (s *sftpBlobs) forget(err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		s.c.Close()
		s.ssh.Close()
		s.c, s.ssh = nil, nil
	}
	return err
}

func (s *sftpBlobs) list(ctx context.Context) (map[string]int64, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	w := c.Walk(s.root)
	for w.Step() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.Err(); err != nil {
			if errors.Is(err, fs.ErrNotExist) && w.Path() == s.root {
				return out, nil
			}
			return nil, s.forget(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(w.Path(), s.root), "/")
		if w.Stat().Mode().IsRegular() && validRel(rel) {
			out[rel] = w.Stat().Size()
		}
	}
	return out, nil
}

func (s *sftpBlobs) put(_ context.Context, rel, src string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	dst := path.Join(s.root, rel)
	if err := c.MkdirAll(path.Dir(dst)); err != nil {
		return s.forget(err)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path.Join(path.Dir(dst), ".partial-"+path.Base(dst))
	out, err := c.Create(tmp)
	if err != nil {
		return s.forget(err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.PosixRename(tmp, dst)
	}
	if err != nil {
		c.Remove(tmp)
	}
	return s.forget(err)
}

func (s *sftpBlobs) open(_ context.Context, rel string) (io.ReadCloser, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	f, err := c.Open(path.Join(s.root, rel))
	return f, s.forget(err)
}

func (s *sftpBlobs) remove(_ context.Context, rel string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	return s.forget(c.Remove(path.Join(s.root, rel)))
}

func (s *sftpBlobs) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	err := errors.Join(s.c.Close(), s.ssh.Close())
	s.c, s.ssh = nil, nil
	return err
}
