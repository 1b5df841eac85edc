package e2e

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sshd is Debian's OpenSSH server on a loopback port, with a generated host
// key and one user key, serving SFTP.
type sshd struct {
	t                *testing.T
	addr, config     string
	keyPath, hostKey string // the client's private key; the server's public key line
	user, root       string // who logs in; the replica folder on the server
	cmd              *exec.Cmd
}

func startSSHD(t *testing.T) *sshd {
	t.Helper()
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sshd is missing (apt-get install openssh-server; .ci/run does)")
		}
		t.Skip("no sshd: apt-get install openssh-server")
	}
	// Debian's sshd refuses to start without its privilege separation folder.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd needs /run/sshd: %v", err)
	}
	dir := t.TempDir()
	for _, k := range []string{"host_key", "user_key"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "user_key.pub"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	hostPub, _ := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshd{t: t, addr: freePort(t), keyPath: filepath.Join(dir, "user_key"), hostKey: strings.TrimSpace(string(hostPub)),
		user: u.Username, root: filepath.Join(dir, "remote"), config: filepath.Join(dir, "sshd_config")}
	host, port, _ := net.SplitHostPort(s.addr)
	cfg := strings.Join([]string{
		"Port " + port, "ListenAddress " + host, "HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"), "AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "Subsystem sftp internal-sftp", "",
	}, "\n")
	os.WriteFile(s.config, []byte(cfg), 0o600)
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *sshd) start() {
	s.t.Helper()
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", s.config)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return
		}
	}
	s.t.Fatal("sshd did not listen within 10s")
}

// kill stops the server and the sessions it forked: a killed listener alone
// leaves established connections served, and sessions leave its process
// group (setsid), so they are found by parentage.
func (s *sshd) kill() {
	if s.cmd == nil || s.cmd.ProcessState != nil {
		return
	}
	pids := descendants(s.cmd.Process.Pid)
	s.cmd.Process.Kill()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	s.cmd.Wait()
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ")".
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 {
		next := frontier[0]
		frontier = frontier[1:]
		for p, pp := range parent {
			if pp == next {
				out = append(out, p)
				frontier = append(frontier, p)
			}
		}
	}
	return out
}

func (s *sshd) url() string { return "sftp://" + s.user + "@" + s.addr + s.root }

func (s *sshd) env() []string {
	return []string{"QUIRE_REPLICA_SSH_KEY_PATH=" + s.keyPath, "QUIRE_REPLICA_SSH_HOST_KEY=" + s.hostKey}
}

// quireEnv runs the CLI with extra environment.
func quireEnv(env []string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Replication to a real SFTP server, through an outage: while sshd is down
// the instance keeps serving and doctor fails; when it returns the replica
// catches up by itself; after a kill -9 an empty data dir restored over SFTP
// holds the acknowledged writes and the originals. A wrong pinned host key
// is refused.
func TestReplicaSFTP(t *testing.T) {
	srv := startSSHD(t)
	const interval = 500 * time.Millisecond
	env := append(srv.env(), "QUIRE_REPLICA_URL="+srv.url(), "QUIRE_REPLICA_SYNC_INTERVAL="+interval.String())
	in := start(t, "", env...)
	token, wsID := owner(t, in)
	original := filepath.Join(in.DataDir, "files", wsID, "00000000-doc")
	os.MkdirAll(filepath.Dir(original), 0o750)
	os.WriteFile(original, []byte("an original over sftp"), 0o640)
	doctor := func() (string, error) {
		return quireEnv(env, "doctor", "--data-dir", in.DataDir, "--ollama-url", "http://127.0.0.1:1")
	}

	w := startWriters(t, in, token, wsID, 4)
	time.Sleep(2 * time.Second)
	srv.kill()
	time.Sleep(2 * time.Second)
	if lag := replicaLag(t, in, token); lag < 1 {
		t.Errorf("lag %.2fs with the SFTP server down for 2s", lag)
	}
	if out, err := doctor(); err == nil || !strings.Contains(out, "FAIL  replica") || !strings.Contains(out, "unreachable") {
		t.Errorf("doctor with the SFTP server down: %v\n%s", err, out)
	}
	srv.start()
	caughtUp := time.Now()
	for lag := replicaLag(t, in, token); lag > 2*interval.Seconds(); lag = replicaLag(t, in, token) {
		if time.Since(caughtUp) > 60*time.Second {
			t.Fatalf("the replica did not catch up within 60s of the server's return (lag %.1fs)", lag)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("caught up %v after the SFTP server returned", time.Since(caughtUp).Round(100*time.Millisecond))
	time.Sleep(time.Second)
	if out, err := doctor(); err != nil || !strings.Contains(out, "ok    replica ") || !strings.Contains(out, "1 of 1 originals on the replica") {
		t.Errorf("doctor after the return: %v\n%s", err, out)
	}

	killed, acked := w.killMidLoad(t, in)
	restored := filepath.Join(t.TempDir(), "restored")
	out, err := quireEnv(srv.env(), "restore", "--from-replica", srv.url(), "--data-dir", restored)
	if err != nil || !strings.Contains(out, "integrity_check ok") {
		t.Fatalf("restore over SFTP: %v\n%s", err, out)
	}
	lost := missing(t, restored, wsID, acked)
	t.Logf("sftp, sync_interval %s: kill -9 after %d acknowledged writes, %d lost", interval, len(acked), lost)
	if n := missing(t, restored, wsID, w.ackedBefore(killed.Add(-3*interval))); n > 0 {
		t.Errorf("%d writes acknowledged over %s before the kill are missing", n, 3*interval)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "files", wsID, "00000000-doc")); err != nil || string(b) != "an original over sftp" {
		t.Errorf("the original was not restored over SFTP: %q %v", b, err)
	}

	other := startSSHD(t) // another server's host key
	wrong := []string{"QUIRE_REPLICA_SSH_KEY_PATH=" + srv.keyPath, "QUIRE_REPLICA_SSH_HOST_KEY=" + other.hostKey}
	dest := filepath.Join(t.TempDir(), "dest")
	if out, err := quireEnv(wrong, "restore", "--from-replica", srv.url(), "--data-dir", dest); err == nil || !strings.Contains(out, "host key") {
		t.Errorf("a wrong host key: %v\n%s", err, out)
	}
	assertEmpty(t, dest)
}
