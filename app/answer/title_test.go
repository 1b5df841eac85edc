package answer_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// titled asks a first question of an unnamed chat whose model titles it with
// title, and returns the name the chat gets.
func titled(t *testing.T, title string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/show":
			fmt.Fprint(w, `{"capabilities":["completion"],"model_info":{"llama.context_length":4096}}`)
		case "/api/chat":
			content := "An answer [1]."
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "Write a title") {
				content = title
			}
			quoted, _ := json.Marshal(content)
			fmt.Fprintf(w, `{"model":"fake","message":{"role":"assistant","content":%s},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}`+"\n", quoted)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t, srv.URL, "fake", nil)
	ch := e.chat(t, "")
	g, err := e.ask(t, ch, "How does Quire answer questions?")
	if err != nil {
		t.Fatal(err)
	}
	wait(t, g)
	e.svc.Shutdown(time.Now().Add(10 * time.Second)) // waits for the title
	got, err := e.st.GetChat(t.Context(), e.ws.ID, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Name
}

// A title reads as a title: no citation marks, nor the space and full stop
// they leave behind, no quotes, Markdown or control characters, one line.
func TestTitlesAreClean(t *testing.T) {
	for model, want := range map[string]string{
		"How Quire answers [1].":                  "How Quire answers",
		"Quire answers [1] [2] .":                 "Quire answers",
		`"**Answering** from documents"`:          "Answering from documents",
		"# Grounded answers [3], explained [1]!":  "Grounded answers, explained!",
		"Title: Line one\nline two\x00\x07\u202e": "Line one line two",
		"[1]": "How does Quire answer questions?", // nothing left: the question names it
	} {
		if got := titled(t, model); got != want {
			t.Errorf("the model's title %q became %q, want %q", model, got, want)
		}
	}
}
