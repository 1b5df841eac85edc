package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"quire/app/auth"
	"quire/app/config"
	qhttp "quire/app/http"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/store"
)

func init() {
	// Cheap hashes keep the suite fast; production parameters are tested in package auth.
	auth.DefaultParams = auth.Params{Memory: 64, Time: 1, Threads: 1}
}

// testServer is a Quire instance over a fresh SQLite file in a temp dir.
type testServer struct {
	t     testing.TB
	srv   *Server
	store *store.Store
	cfg   config.Config
}

func newTestServer(t testing.TB, mutate ...func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.OllamaURL = "http://127.0.0.1:1" // nothing listens: tests do not depend on a local Ollama
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(cfg.DataDir, "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := New(context.Background(), cfg, st, os.DirFS("../web"), log)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, srv: srv, store: st, cfg: cfg}
}

// response is a decoded reply.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(v any) {
	if err := json.Unmarshal(r.Body, v); err != nil {
		panic(fmt.Sprintf("decode %s: %v", r.Body, err))
	}
}

func (r response) errCode() string {
	var e struct{ Error request.APIError }
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// errField is the field an error names: "field" on /api, OpenAI's "param" on /v1.
func (r response) errField() string {
	var e struct{ Error struct{ Field, Param string } }
	_ = json.Unmarshal(r.Body, &e)
	if e.Error.Field == "" {
		return e.Error.Param
	}
	return e.Error.Field
}

// req describes a request; body is JSON-encoded unless it is a string.
type req struct {
	method, path string
	body         any
	token        string            // bearer token
	headers      map[string]string // extra headers (cookies, CSRF)
}

func (ts *testServer) do(r req) response {
	ts.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		body = bytes.NewReader(raw)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	resp, err := ts.srv.App().Test(hr, -1)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// must performs a request and fails the test unless the status matches.
func (ts *testServer) must(want int, r req) response {
	ts.t.Helper()
	res := ts.do(r)
	if res.Status != want {
		ts.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, res.Status, want, res.Body)
	}
	return res
}

var emailSeq atomic.Int64

// uniqueEmail gives a fresh address per call.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s%d@example.com", prefix, emailSeq.Add(1))
}

const testPassword = "password-123"

// user is an account with a bearer session token.
type user struct {
	*store.User
	token string
}

// signup creates a user through the API. On an instance without an
// administrator nobody can sign up, so the first one is made there as on a
// real instance: through the setup link, which makes them its administrator.
func (ts *testServer) signup(prefix string) user {
	ts.t.Helper()
	body := map[string]string{"email": uniqueEmail(prefix), "password": testPassword, "name": strings.ToUpper(prefix[:1]) + prefix[1:]}
	path := "/api/auth/signup"
	if setUp, err := ts.store.AdminExists(context.Background()); err != nil {
		ts.t.Fatal(err)
	} else if !setUp {
		if body["token"], err = ts.srv.SetupToken(context.Background()); err != nil {
			ts.t.Fatal(err)
		}
		path = "/api/setup"
	}
	res := ts.must(201, req{method: "POST", path: path, body: body})
	var out struct {
		User  api.UserJSON
		Token string
	}
	res.json(&out)
	u, err := ts.store.UserByID(context.Background(), out.User.ID)
	if err != nil {
		ts.t.Fatal(err)
	}
	return user{u, out.Token}
}

// quickUser creates a user straight in the store (fast path for fixtures).
// Like signup, the first one of an instance is its administrator.
func (ts *testServer) quickUser(prefix string) user {
	ts.t.Helper()
	ctx := context.Background()
	hash, _ := auth.HashPassword(testPassword)
	setUp, err := ts.store.AdminExists(ctx)
	if err != nil {
		ts.t.Fatal(err)
	}
	u, err := ts.store.CreateAccount(ctx, store.NewUser{Email: uniqueEmail(prefix), Name: prefix, PasswordHash: hash, Verified: true, Admin: !setUp})
	if err != nil {
		ts.t.Fatal(err)
	}
	secret, th := auth.NewToken("qs_")
	if _, err := ts.store.CreateToken(ctx, u.ID, store.TokenSession, "test", th, "", nil); err != nil {
		ts.t.Fatal(err)
	}
	return user{u, secret}
}

func (ts *testServer) createWorkspace(owner user, name string) api.WorkspaceJSON {
	ts.t.Helper()
	var ws api.WorkspaceJSON
	ts.must(201, req{method: "POST", path: "/api/workspaces", body: map[string]string{"name": name}, token: owner.token}).json(&ws)
	return ws
}

// addMember brings u into ws as an admin of it would: an instance admin adds
// directly (201); anyone else invites (202) and u accepts with the link.
func (ts *testServer) addMember(ws api.WorkspaceJSON, owner user, u user, role string) {
	ts.t.Helper()
	res := ts.do(req{method: "POST", path: "/api/workspaces/" + ws.ID + "/members", token: owner.token,
		body: map[string]string{"email": u.Email, "role": role}})
	switch res.Status {
	case 201:
	case 202:
		var inv struct {
			InviteURL string `json:"invite_url"`
		}
		res.json(&inv)
		_, token, _ := strings.Cut(inv.InviteURL, "/invite/")
		ts.must(200, req{method: "POST", path: "/api/invitations/" + token + "/accept", token: u.token})
	default:
		ts.t.Fatalf("add %s to %s: status %d: %s", u.Email, ws.ID, res.Status, res.Body)
	}
}

// rewire rebuilds the HTTP layer over the instance's services, after a test
// has replaced one of them (the handlers hold what New gave them).
func (ts *testServer) rewire() {
	ts.t.Helper()
	h, err := qhttp.New(ts.srv.deps(), os.DirFS("../web"))
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.srv.http = h
}
