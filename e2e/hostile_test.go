package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quire/app/ingest/ingesttest"
)

// parseWorkers lists the parse worker processes of the binary under test,
// wherever their parent is (a worker orphaned by a killed server included).
func parseWorkers(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, dir := range dirs {
		exe, err := os.Readlink(filepath.Join(dir, "exe"))
		if err != nil || exe != binary {
			continue
		}
		env, _ := os.ReadFile(filepath.Join(dir, "environ"))
		if bytes.Contains(env, []byte("QUIRE_PARSE_WORKER=")) {
			out = append(out, filepath.Base(dir))
		}
	}
	return out
}

type docState struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Status          string `json:"status"`
	ProcessingError string `json:"processing_error"`
}

func healthy(t *testing.T, in *instance) {
	t.Helper()
	resp, err := http.Get(in.URL + "/api/health")
	if err != nil {
		t.Fatalf("health: %v\n%s", err, in.logs.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
}

// Files of a few hundred bytes that used to kill the server with Go fatal
// errors, and Markdown that kept a core busy for hours, uploaded over HTTP
// to the real binary: the server stays up, each document fails with a
// reason, and no parse worker is left. Then the server is killed while a
// worker parses a bomb: the worker dies with it, and the restarted server
// fails that document instead of crash-looping on it.
func TestHostileUploadsKeepServerUp(t *testing.T) {
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		t.Skip("needs /proc to find parse workers")
	}
	in := start(t, "", "QUIRE_PARSE_TIMEOUT=3s")
	su := struct{ Token string }{in.setupAdmin("ada@example.com", "analytical-engine", "Ada")}
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Hostile"}, &ws)

	files := []struct {
		name, reason string
		content      []byte
	}{
		{"loop.pdf", "the parser crashed", ingesttest.SelfReferentialObjStm()},
		{"size.pdf", "the parser ran out of memory", ingesttest.HugeXrefSize()},
		{"predictor.pdf", "the parser ran out of memory", ingesttest.HugePredictorColumns()},
		{"emphasis.md", "took longer than 3s", ingesttest.EmphasisBomb(1_500_000)},
		{"quotes.md", "the Markdown file", ingesttest.QuoteBomb(750_000)},
	}
	ids := map[string]string{}
	for _, f := range files {
		var d docState
		code, body := in.uploadFile(su.Token, ws.ID, f.name, f.content)
		if code != 202 {
			t.Fatalf("upload %s: %d %s", f.name, code, body)
		}
		jsonUnmarshal(t, body, &d)
		ids[f.name] = d.ID
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, f := range files {
		for {
			healthy(t, in)
			var d docState
			in.api("GET", "/api/workspaces/"+ws.ID+"/documents/"+ids[f.name], su.Token, nil, &d)
			if d.Status == "ready" {
				t.Fatalf("%s became ready", f.name)
			}
			if d.Status == "failed" {
				if !strings.Contains(d.ProcessingError, f.reason) {
					t.Errorf("%s failed with %q, want %q", f.name, d.ProcessingError, f.reason)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is %s after 60 s", f.name, d.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if w := parseWorkers(t); len(w) > 0 {
		t.Errorf("parse workers left running: %v", w)
	}

	// Kill -9 while a worker parses a bomb.
	code, body := in.uploadFile(su.Token, ws.ID, "again.md", ingesttest.EmphasisBomb(1_500_000))
	if code != 202 {
		t.Fatalf("upload: %d %s", code, body)
	}
	var again docState
	jsonUnmarshal(t, body, &again)
	for deadline := time.Now().Add(20 * time.Second); len(parseWorkers(t)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no parse worker started")
		}
	}
	in.cmd.Process.Kill()
	<-in.done
	for deadline := time.Now().Add(5 * time.Second); len(parseWorkers(t)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the parse worker outlived the killed server: %v", parseWorkers(t))
		}
	}
	restarted := start(t, in.DataDir, "QUIRE_PARSE_TIMEOUT=3s")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		healthy(t, restarted)
		var d docState
		restarted.api("GET", "/api/workspaces/"+ws.ID+"/documents/"+again.ID, su.Token, nil, &d)
		if d.Status == "failed" {
			if !strings.Contains(d.ProcessingError, "took longer than 3s") {
				t.Errorf("after the restart: failed with %q", d.ProcessingError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the document is %s", d.Status)
		}
	}
	if err := restarted.stop(); err != nil {
		t.Fatal(err)
	}
}

func jsonUnmarshal(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}
