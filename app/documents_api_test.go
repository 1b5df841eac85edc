package app

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
)

// upload posts a multipart file and returns the response.
func (ts *testServer) upload(u user, wsID, filename string, content []byte, fields map[string]string) response {
	ts.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(content)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return ts.do(req{method: "POST", path: "/api/workspaces/" + wsID + "/documents", body: buf.String(), token: u.token,
		headers: map[string]string{"Content-Type": mw.FormDataContentType()}})
}

func TestUploadChecksAndStoresTheFile(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.MaxUploadMB = 1 })
	u := ts.signup("uploader")
	ws := ts.createWorkspace(u, "Acme")
	res := ts.upload(u, ws.ID, "../../etc/notes.md", []byte("# Notes\n\nQuarterly numbers are up."), nil)
	if res.Status != 202 {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var d api.DocumentJSON
	res.json(&d)
	if d.Status != "pending" || d.Name != "notes.md" || d.OriginalFilename != "notes.md" || !strings.HasPrefix(d.MimeType, "text/markdown") || d.FileSize == 0 {
		t.Fatalf("document %+v", d)
	}
	// The original is stored under our own name, inside the files folder.
	stored, _ := filepath.Glob(filepath.Join(ts.cfg.FilesDir(), ws.ID, "*"))
	if len(stored) != 1 || filepath.Base(stored[0]) != d.ID {
		t.Fatalf("stored files %v", stored)
	}
	file := ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/documents/" + d.ID + "/file", token: u.token})
	if !strings.HasPrefix(file.Header.Get("Content-Disposition"), "attachment;") || !strings.Contains(string(file.Body), "Quarterly") {
		t.Fatalf("download: %v %s", file.Header, file.Body)
	}
	// What is not a supported document is refused with 415, and nothing is kept.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for name, body := range map[string][]byte{"photo.png": png, "fake.pdf": []byte("just text pretending"), "tool.exe": []byte("MZ\x90\x00\x03")} {
		if res := ts.upload(u, ws.ID, name, body, nil); res.Status != 415 || res.errCode() != "unsupported_media_type" {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	if res := ts.upload(u, ws.ID, "big.txt", bytes.Repeat([]byte("a "), 600<<10), nil); res.Status != 413 || res.errCode() != "payload_too_large" {
		t.Fatalf("oversized: %d %s", res.Status, res.Body)
	}
	var l api.List[api.DocumentJSON]
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/documents", token: u.token}).json(&l)
	if len(l.Items) != 1 {
		t.Fatalf("refused uploads left documents: %+v", l.Items)
	}
	// Delete removes the file too.
	ts.must(204, req{method: "DELETE", path: "/api/workspaces/" + ws.ID + "/documents/" + d.ID, token: u.token})
	if _, err := os.Stat(stored[0]); !os.IsNotExist(err) {
		t.Fatalf("file survived deletion: %v", err)
	}
}

func TestKnowledgeBaseVisibilityAndTeams(t *testing.T) {
	ts := newTestServer(t)
	owner, inTeam, notInTeam := ts.signup("owner"), ts.signup("insider"), ts.signup("other")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, inTeam, "member")
	ts.addMember(ws, owner, notInTeam, "member")
	base := "/api/workspaces/" + ws.ID
	var team api.TeamJSON
	ts.must(201, req{method: "POST", path: base + "/teams", token: owner.token, body: map[string]string{"name": "Legal"}}).json(&team)
	ts.must(201, req{method: "POST", path: fmt.Sprintf("%s/teams/%d/members", base, team.ID), token: owner.token, body: map[string]int64{"user_id": inTeam.ID}})
	var kb api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Contracts", "shared_with_workspace": false}}).json(&kb)
	ts.must(403, req{method: "POST", path: base + "/knowledge-bases", token: inTeam.token, body: map[string]any{"name": "Mine"}})
	kp := base + "/knowledge-bases/" + kb.ID
	res := ts.upload(owner, ws.ID, "nda.txt", []byte("Confidential terms of the agreement."), map[string]string{"knowledge_base_ids": kb.ID})
	var d api.DocumentJSON
	res.json(&d)

	// Restricted: nobody but admins sees it yet.
	ts.must(404, req{method: "GET", path: kp, token: inTeam.token})
	ts.must(404, req{method: "GET", path: base + "/documents/" + d.ID, token: inTeam.token})
	// Granted to the team: its members see the KB and its documents, others do not.
	if res := ts.must(400, req{method: "PUT", path: kp + "/access", token: owner.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{9999}}}); res.errField() != "team_ids" {
		t.Fatalf("foreign team: %s", res.Body)
	}
	ts.must(200, req{method: "PUT", path: kp + "/access", token: owner.token, body: map[string]any{"shared_with_workspace": false, "team_ids": []int64{team.ID}}})
	var got api.KbJSON
	ts.must(200, req{method: "GET", path: kp, token: inTeam.token}).json(&got)
	if got.DocumentCount != 1 {
		t.Fatalf("kb %+v", got)
	}
	ts.must(200, req{method: "GET", path: base + "/documents/" + d.ID + "/file", token: inTeam.token})
	ts.must(404, req{method: "GET", path: kp, token: notInTeam.token})
	ts.must(404, req{method: "GET", path: base + "/documents/" + d.ID, token: notInTeam.token})
	var docs api.List[api.DocumentJSON]
	ts.must(200, req{method: "GET", path: base + "/documents", token: notInTeam.token}).json(&docs)
	if len(docs.Items) != 0 {
		t.Fatalf("a member outside the team lists %d documents", len(docs.Items))
	}
	// Seeing is not managing.
	ts.must(403, req{method: "PATCH", path: kp, token: inTeam.token, body: map[string]string{"name": "Ours"}})
	ts.must(403, req{method: "DELETE", path: base + "/documents/" + d.ID, token: inTeam.token})
	// Members upload into no KB, or into KBs they manage only.
	if res := ts.upload(inTeam, ws.ID, "x.txt", []byte("text"), map[string]string{"knowledge_base_ids": kb.ID}); res.Status != 403 {
		t.Fatalf("member uploads into an admin's KB: %d", res.Status)
	}
	mine := ts.upload(notInTeam, ws.ID, "mine.txt", []byte("my own notes"), nil)
	var md api.DocumentJSON
	mine.json(&md)
	ts.must(200, req{method: "GET", path: base + "/documents/" + md.ID, token: notInTeam.token})
	ts.must(404, req{method: "GET", path: base + "/documents/" + md.ID, token: inTeam.token})
	// A document may be in several KBs; removing the link keeps the document.
	var kb2 api.KbJSON
	ts.must(201, req{method: "POST", path: base + "/knowledge-bases", token: owner.token, body: map[string]any{"name": "Everything"}}).json(&kb2)
	ts.must(200, req{method: "POST", path: base + "/knowledge-bases/" + kb2.ID + "/documents", token: owner.token, body: map[string]any{"document_ids": []string{d.ID, md.ID}}}).json(&got)
	if got.DocumentCount != 2 {
		t.Fatalf("kb2 %+v", got)
	}
	ts.must(200, req{method: "GET", path: base + "/documents/" + d.ID, token: notInTeam.token}) // now visible through the shared KB
	ts.must(200, req{method: "POST", path: base + "/knowledge-bases/" + kb2.ID + "/documents/remove", token: owner.token, body: map[string]any{"document_ids": []string{d.ID}}})
	ts.must(404, req{method: "GET", path: base + "/documents/" + d.ID, token: notInTeam.token})
	ts.must(200, req{method: "GET", path: base + "/documents/" + d.ID, token: owner.token})
}

func TestAddWebPageWithSSRFGuard(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><head><title>Handbook</title></head><body><h1>Leave</h1><p>Everyone gets 30 days.</p></body></html>")
	}))
	defer page.Close()
	ts := newTestServer(t)
	u := ts.signup("web")
	ws := ts.createWorkspace(u, "Acme")
	path := "/api/workspaces/" + ws.ID + "/documents/url"
	// Loopback and private addresses are refused by default (SSRF guard)…
	for _, target := range []string{page.URL + "/handbook", "http://10.0.0.1/x", "http://[::1]:1/"} {
		res := ts.must(400, req{method: "POST", path: path, token: u.token, body: map[string]string{"url": target}})
		if res.errField() != "url" || !strings.Contains(string(res.Body), "private network") {
			t.Fatalf("%s: %s", target, res.Body)
		}
	}
	ts.must(400, req{method: "POST", path: path, token: u.token, body: map[string]string{"url": "file:///etc/passwd"}})
	// …unless the admin allows them (this test's page is on loopback).
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: u.token, body: map[string]bool{"allow_private_urls": true}})
	var d api.DocumentJSON
	ts.must(202, req{method: "POST", path: path, token: u.token, body: map[string]string{"url": page.URL + "/handbook"}}).json(&d)
	if d.SourceURL != page.URL+"/handbook" || !strings.HasPrefix(d.MimeType, "text/html") || d.Status != "pending" {
		t.Fatalf("fetched document %+v", d)
	}
}
