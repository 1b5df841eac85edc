package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quire/store"
)

// uploadFile posts a multipart upload to the real binary.
func (in *instance) uploadFile(token, wsID, name string, content []byte) (int, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", in.URL+"/api/workspaces/"+wsID+"/documents", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A kill -9 in the middle of ingesting many documents loses nothing: after a
// restart every document ends ready, with chunk rows == vector rows == FTS rows.
func TestKillDuringIngestionResumes(t *testing.T) {
	in, o, token := startWithOllama(t)
	var ws struct{ ID string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Crash"}, &ws)
	const docs = 24
	for i := range docs {
		var b strings.Builder
		for p := range 40 {
			fmt.Fprintf(&b, "Section %d of document %d. The quick brown fox %d jumps over the lazy dog while invoices and reports pile up.\n\n", p, i, p*i)
		}
		if code, body := in.uploadFile(token, ws.ID, fmt.Sprintf("doc-%02d.txt", i), []byte(b.String())); code != 202 {
			t.Fatalf("upload %d: %d %s", i, code, body)
		}
	}
	// Let ingestion get going, then pull the plug.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l struct{ Items []struct{ Status string } }
		in.api("GET", "/api/workspaces/"+ws.ID+"/documents?status=ready&limit=200", token, nil, &l)
		if len(l.Items) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.cmd.Process.Kill()
	<-in.done

	again := start(t, in.DataDir, "QUIRE_OLLAMA_URL="+o.URL)
	deadline = time.Now().Add(90 * time.Second)
	for {
		var l struct {
			Items []struct{ ID, Status, ProcessingError string }
		}
		again.api("GET", "/api/workspaces/"+ws.ID+"/documents?limit=200", token, nil, &l)
		ready := 0
		for _, d := range l.Items {
			if d.Status == "ready" {
				ready++
			}
			if d.Status == "failed" {
				t.Fatalf("document failed after the restart: %s", d.ProcessingError)
			}
		}
		if ready == docs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d documents ready 90 s after the restart", ready, docs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(in.DataDir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.ListDocuments(context.Background(), ws.ID, store.Viewer{IsAdmin: true}, store.DocumentFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		c, err := st.DocumentIndexCounts(context.Background(), ws.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Chunks == 0 || c.Chunks != c.FTS || c.Chunks != c.Vectors || c.Chunks != d.ChunkCount {
			t.Errorf("%s: chunks %d, FTS %d, vectors %d, chunk_count %d", d.Name, c.Chunks, c.FTS, c.Vectors, d.ChunkCount)
		}
	}
}
