package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"quire/app/auth"
	"quire/app/config"
	qhttp "quire/app/http"
	"quire/app/http/request"
	"quire/store"
)

// Fuzz targets for hostile JSON bodies. Run each for a while with, e.g.:
//
//	go test ./app -run '^$' -fuzz '^FuzzDecodeBody$' -fuzztime 20s
//	go test ./app -run '^$' -fuzz '^FuzzJSONRoutes$' -fuzztime 20s
//
// Without -fuzz they run their seed corpus as ordinary tests.

// decodeTarget has the shapes handlers decode into: pointers for PATCH, lists,
// nested objects, numbers of several sizes.
type decodeTarget struct {
	Name     *string           `json:"name"`
	Enabled  *bool             `json:"enabled"`
	UserID   int64             `json:"user_id"`
	Limit    *int              `json:"limit"`
	TopP     *float64          `json:"top_p"`
	IDs      []string          `json:"document_ids"`
	TeamIDs  []int64           `json:"team_ids"`
	Messages []json.RawMessage `json:"messages"`
	Options  map[string]any    `json:"options"`
	Nested   *struct {
		Role string `json:"role"`
	} `json:"nested"`
}

var fuzzApp = fiber.New()

func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x"}`, `{"name":null}`, `{"user_id":1e309}`, `{"user_id":-1}`, `{"team_ids":[1,"2"]}`,
		`{"nested":{"role":{}}}`, `{"name":"x"} {"name":"y"}`, `[]`, `"str"`, `null`, `{"a":`, `{"unknown":1}`,
		"{\"name\":\"\xff\xfe\"}", `{"name":"\ud800"}`, strings.Repeat("[", 10000), `{"limit":99999999999999999999}`,
	} {
		f.Add([]byte(seed), true, true)
		f.Add([]byte(seed), false, false)
	}
	f.Fuzz(func(t *testing.T, body []byte, strict, jsonType bool) {
		rc := &fasthttp.RequestCtx{}
		rc.Request.SetBody(body)
		if jsonType {
			rc.Request.Header.SetContentType("application/json; charset=utf-8")
		} else {
			rc.Request.Header.SetContentType("text/plain")
		}
		c := fuzzApp.AcquireCtx(rc)
		defer fuzzApp.ReleaseCtx(c)
		var v decodeTarget
		err := request.DecodeBody(c, &v, strict)
		if err == nil {
			if !jsonType {
				t.Fatal("a non-JSON content type was accepted")
			}
			return
		}
		ae := request.ToAPIError(err)
		if ae == nil {
			t.Fatalf("decodeBody returned a bare error %T %v: it would be a 500", err, err)
		}
		if (ae.Status != 400 && ae.Status != 415) || ae.Code == "" || ae.Message == "" {
			t.Fatalf("error %+v for %q", ae, body)
		}
		if len(ae.Message) > 2000 {
			t.Fatalf("error message of %d bytes echoes too much input", len(ae.Message))
		}
	})
}

// routeFuzz is one server shared by every iteration of FuzzJSONRoutes.
type routeFuzz struct {
	once   sync.Once
	ts     *testServer
	w      *world
	key    string // a workspace API key of the owner, for /v1
	routes []qhttp.Route
}

var rf routeFuzz

// setup builds the server on the first iteration (the world's fixtures need a
// *testing.T); the store lives for the whole fuzz run.
func (r *routeFuzz) setup(t *testing.T) {
	r.once.Do(func() {
		cfg := config.Default()
		dir, err := os.MkdirTemp("", "quire-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DataDir, cfg.OllamaURL = dir, "http://127.0.0.1:1"
		st, err := store.Open(context.Background(), filepath.Join(dir, "quire.db"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(context.Background(), cfg, st, os.DirFS("../web"), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		r.ts = &testServer{t: t, srv: srv, store: st, cfg: cfg}
		r.w = newWorld(r.ts)
		secret, h := auth.NewToken("qk_")
		if _, err := st.CreateToken(context.Background(), r.w.owner.ID, store.TokenAPIKey, "fuzz", h, r.w.ws.ID, nil); err != nil {
			t.Fatal(err)
		}
		r.key = secret
		for _, rt := range srv.Routes() {
			// Bodies that end the caller's session would only make later iterations 401s.
			// Routes that can make the server reach other machines are never fuzzed: a
			// fuzzed URL (a web page to import, an Ollama URL, Stripe) must not leave loopback.
			skip := rt.Upload || rt.Page || rt.Path == "/api/auth/logout" || rt.Path == "/api/me/password" ||
				strings.HasSuffix(rt.Path, "/url") || strings.Contains(rt.Path, "billing") || strings.Contains(rt.Path, "stripe") ||
				rt.Path == "/api/admin/settings" ||
				// Accepting an invitation makes the next one to the same person a conflict in
				// the fixtures; these routes read no body anyway.
				strings.Contains(rt.Path, "/invitations/:token") || strings.HasPrefix(rt.Path, "/api/me/invitations/")
			if (rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT") && !skip {
				r.routes = append(r.routes, rt)
			}
		}
	})
	r.ts.t = t
}

// Every route that reads a JSON body answers hostile bodies with a 4xx, never a
// 5xx (model_unavailable aside: no Ollama runs here) and never a panic.
func FuzzJSONRoutes(f *testing.F) {
	for i := range 60 {
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`{"name":"`+strings.Repeat("é", 300)+`","email":"a@b","role":"owner","user_id":-9}`))
	}
	for _, s := range []string{`{"content":""}`, `{"document_ids":[null]}`, `{"team_ids":[1e400]}`, `{"messages":[{"role":1}]}`,
		`{"signup_policy":"x","max_upload_mb":-1}`, `{"model":"", "input":[[]]}`, `{"user_id":9223372036854775807}`, `null`, `[{}]`} {
		for i := range 60 {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rf.setup(t)
		r := rf.routes[int(which)%len(rf.routes)]
		caller := &rf.w.owner
		if strings.HasPrefix(r.Path, "/api/admin/") {
			caller = &rf.w.root
		}
		token := caller.token
		if strings.HasPrefix(r.Path, "/v1/") {
			token = rf.key
		}
		path := rf.w.fillPath(t, rf.ts, r.Path, caller)
		res := rf.ts.do(req{method: r.Method, path: path, body: string(body), token: token})
		if res.Status >= 500 && res.errCode() != "model_unavailable" && res.errCode() != "model_failed" {
			t.Fatalf("%s %s with body %q: %d %s", r.Method, r.Path, body, res.Status, res.Body)
		}
	})
}
