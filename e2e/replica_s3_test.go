package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// versity is Versity Gateway, an S3 server, on a loopback port with its
// posix backend: buckets are folders under root.
type versity struct {
	addr, key, secret, root string
}

func startVersity(t *testing.T) *versity {
	t.Helper()
	home, _ := os.UserHomeDir()
	bin := filepath.Join(home, ".cache", "quire", "versitygw", "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("versitygw is missing (bash scripts/install-versitygw.sh; .ci/run does)")
		}
		t.Skip("no versitygw: bash scripts/install-versitygw.sh")
	}
	v := &versity{addr: freePort(t), key: "quire-test-key", secret: "s3-secret-never-shown", root: t.TempDir()}
	cmd := exec.Command(bin, "--access", v.key, "--secret", v.secret, "--port", v.addr, "posix", v.root)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("versitygw logs:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + v.addr + "/"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen within 15s:\n%s", logs.String())
		}
	}
	return v
}

// client is the official SDK's client for this server, as an operator uses it.
func (v *versity) client() *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + v.addr), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(v.key, v.secret, "")})
}

func (v *versity) put(t *testing.T, bucket, key, body string) {
	t.Helper()
	if _, err := v.client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// env is the [replica] s3 settings for this server, with the given secret.
func (v *versity) env(secret string) []string {
	// Litestream's S3 client brings its own HTTP client, to which the SDK
	// cannot add a CA bundle: with AWS_CA_BUNDLE set it refuses to start.
	return []string{"AWS_CA_BUNDLE=", "QUIRE_REPLICA_S3_ENDPOINT=http://" + v.addr, "QUIRE_REPLICA_S3_PATH_STYLE=true",
		"QUIRE_REPLICA_S3_ACCESS_KEY_ID=" + v.key, "QUIRE_REPLICA_S3_SECRET_ACCESS_KEY=" + secret}
}

// Replication to a real S3 server: under load the replica keeps up and
// doctor says so; after a kill -9 an empty data dir restored from the bucket
// holds the acknowledged writes (all but the last moments) and the
// originals. With a wrong secret the instance still serves, doctor says the
// server refused the credentials, and a restore fails leaving the folder
// empty. Neither secret appears in a log or an output.
func TestReplicaS3(t *testing.T) {
	srv := startVersity(t)
	if _, err := srv.client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("quire-replica")}); err != nil {
		t.Fatal(err)
	}
	const interval = 500 * time.Millisecond
	url := "s3://quire-replica/site-a"
	env := append(srv.env(srv.secret), "QUIRE_REPLICA_URL="+url, "QUIRE_REPLICA_SYNC_INTERVAL="+interval.String())
	in := start(t, "", env...)
	token, wsID := owner(t, in)
	original := filepath.Join(in.DataDir, "files", wsID, "00000000-doc")
	os.MkdirAll(filepath.Dir(original), 0o750)
	os.WriteFile(original, []byte("an original in a bucket"), 0o640)

	w := startWriters(t, in, token, wsID, 4)
	time.Sleep(3 * time.Second)
	if lag := replicaLag(t, in, token); lag > 3*interval.Seconds() {
		t.Errorf("replica lag %.1fs under load with a %s interval", lag, interval)
	}
	out, err := quireEnv(env, "doctor", "--data-dir", in.DataDir, "--ollama-url", "http://127.0.0.1:1")
	if !strings.Contains(out, "ok    replica ") || !strings.Contains(out, "1 of 1 originals on the replica") {
		t.Errorf("doctor while replicating to S3: %v\n%s", err, out)
	}
	if strings.Contains(out, srv.secret) {
		t.Errorf("doctor shows the S3 secret:\n%s", out)
	}

	killed, acked := w.killMidLoad(t, in)
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged: the load did not run", len(acked))
	}
	// Keys no files folder holds, planted in the bucket: a restore must not
	// write outside its folder, nor bring back hidden (temporary) names.
	srv.put(t, "quire-replica", "site-a/files/../../escaped", "planted")
	srv.put(t, "quire-replica", "site-a/files/"+wsID+"/.partial-x", "planted")
	parent := t.TempDir()
	restored := filepath.Join(parent, "restored")
	out, err = quireEnv(srv.env(srv.secret), "restore", "--from-replica", url, "--data-dir", restored)
	if err != nil || !strings.Contains(out, "integrity_check ok") || !strings.Contains(out, "1 originals") {
		t.Fatalf("restore from S3: %v\n%s", err, out)
	}
	lost := missing(t, restored, wsID, acked)
	t.Logf("s3 (versitygw), sync_interval %s: kill -9 after %d acknowledged writes, %d lost (%.2f%%)",
		interval, len(acked), lost, 100*float64(lost)/float64(len(acked)))
	if n := missing(t, restored, wsID, w.ackedBefore(killed.Add(-3*interval))); n > 0 {
		t.Errorf("%d writes acknowledged over %s before the kill are missing", n, 3*interval)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "files", wsID, "00000000-doc")); err != nil || string(b) != "an original in a bucket" {
		t.Errorf("the original was not restored from S3: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(restored, "files", wsID, ".partial-x")); err == nil {
		t.Error("a hidden key in the bucket was restored")
	}
	for _, p := range []string{filepath.Join(parent, "escaped"), filepath.Join(restored, "escaped")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a key with .. in the bucket was written to %s", p)
		}
	}
	if strings.Contains(in.logs.String(), srv.secret) {
		t.Error("the server log shows the S3 secret")
	}

	// A wrong secret: the instance serves and writes, doctor says why.
	const wrongSecret = "wrong-secret-never-shown"
	bad := append(srv.env(wrongSecret), "QUIRE_REPLICA_URL=s3://quire-replica/site-b", "QUIRE_REPLICA_SYNC_INTERVAL="+interval.String())
	in2 := start(t, "", bad...)
	token2, wsID2 := owner(t, in2)
	var folder struct{ ID int64 }
	if code := in2.api("POST", "/api/workspaces/"+wsID2+"/folders", token2, map[string]any{"name": "still serving"}, &folder); code != 201 {
		t.Errorf("a write with the replica refusing the credentials: %d", code)
	}
	out, err = quireEnv(bad, "doctor", "--data-dir", in2.DataDir, "--ollama-url", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(out, "FAIL  replica") || !strings.Contains(out, "refused the credentials") {
		t.Errorf("doctor with a wrong S3 secret: %v\n%s", err, out)
	}
	if strings.Contains(out, wrongSecret) {
		t.Errorf("doctor shows the S3 secret:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "FAIL  replica") {
			t.Logf("doctor with a wrong secret: %s", strings.TrimSpace(line))
		}
	}
	time.Sleep(2 * interval)
	if logs := in2.logs.String(); !strings.Contains(logs, "refused the credentials") || strings.Contains(logs, wrongSecret) {
		t.Errorf("the server log should say the credentials were refused, without the secret:\n%s", logs)
	}
	dest := filepath.Join(t.TempDir(), "dest")
	out, err = quireEnv(srv.env(wrongSecret), "restore", "--from-replica", url, "--data-dir", dest)
	if err == nil || !strings.Contains(out, "refused the credentials") || strings.Contains(out, wrongSecret) {
		t.Errorf("restore with a wrong S3 secret: %v\n%s", err, out)
	}
	assertEmpty(t, dest)

	// A bucket that does not exist is named as such.
	out, err = quireEnv(srv.env(srv.secret), "restore", "--from-replica", "s3://no-such-bucket/x", "--data-dir", dest)
	if err == nil || !strings.Contains(out, "bucket does not exist") {
		t.Errorf("restore from a missing bucket: %v\n%s", err, out)
	}
	assertEmpty(t, dest)
}
