package knowledge_test

import (
	"testing"

	"quire/app/llm/ollamatest"
	"quire/app/rag"
)

// Nonsense finds nothing, while related questions keep their answer first,
// measured on the real tiny embedding model: nearest neighbours exist for any
// query, so without a floor every search returned five "hits".
func TestRelevanceFloor(t *testing.T) {
	srv := ollamatest.StartShared(t)
	e := newEnv(t, srv.URL, srv.EmbedModel)
	ingestCorpus(t, e, srv.EmbedModel)
	for _, q := range []string{"xqzv plorft", "zebra quantum lollipop", "purple elephant", "how do I reset my password", "banana republic", "kjhgf lkjh"} {
		for _, mode := range []rag.Mode{rag.ModeHybrid, rag.ModeVector, rag.ModeKeyword} {
			if resp := e.search(t, e.admin(), mode, q); len(resp.Results) != 0 {
				t.Errorf("%s %q: %d results (%v)", mode, q, len(resp.Results), names(resp.Results))
			}
		}
	}
	for _, tc := range []struct{ query, want string }{
		{"which ship will sail to the island", "ocean.html"},
		{"water the green tree", "garden.txt"},
		{"the power of the engine", "engine.txt"},
		{"what is the price", "invoice.md"},
		{"guitar", "music.txt"},
		{"ocean", "ocean.html"}, // one word: close to the floor by meaning, found by its word
	} {
		for _, mode := range []rag.Mode{rag.ModeHybrid, rag.ModeVector} {
			resp := e.search(t, e.admin(), mode, tc.query)
			if mode == rag.ModeVector && tc.query == "ocean" {
				continue // a single word says too little to the tiny model; hybrid finds it by the word
			}
			if len(resp.Results) == 0 || resp.Results[0].DocumentName != tc.want {
				t.Errorf("%s %q: %v, want %s first", mode, tc.query, names(resp.Results), tc.want)
				continue
			}
			if top := resp.Results[0]; !top.Meaning && !top.Words {
				t.Errorf("%s %q: the top result says neither why it matched", mode, tc.query)
			}
		}
	}
}
