// Package rag retrieves the passages of a workspace's documents that answer
// a question: vector search, keyword search, or both fused with reciprocal
// rank fusion. It decides nothing about visibility itself: the store's
// SearchScope applies the rules, and every query runs inside that scope.
package rag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"quire/app/ingest"
	"quire/app/llm"
	"quire/store"
)

// Mode chooses how Search finds passages.
type Mode string

const (
	ModeHybrid  Mode = "hybrid"  // vector and keyword, fused (the default)
	ModeVector  Mode = "vector"  // meaning only; needs the model server
	ModeKeyword Mode = "keyword" // the words as a phrase (BM25); works without the model server
)

// ParseMode reads a mode; "" is hybrid.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeHybrid, nil
	case ModeHybrid, ModeVector, ModeKeyword:
		return m, nil
	}
	return "", fmt.Errorf("mode %q is not one of hybrid, vector, keyword", s)
}

// Defaults and limits of a search.
const (
	DefaultTopK = 5
	MaxTopK     = 50
	// Candidates is how many hits each of vector and keyword search
	// contributes to the fusion.
	Candidates = 20
	// RRFK is the k of reciprocal rank fusion, score = Σ 1/(k + rank): the
	// constant of the original paper, which keeps one list's top hit from
	// drowning the other list.
	RRFK = 60
	// MinSimilarity is the relevance floor: a passage found only by meaning
	// needs at least this cosine similarity to the query, or it is noise that
	// happened to be nearest (every query has nearest neighbours). Measured
	// with quire-tiny-embed over the test corpus (TestRelevanceFloor): related
	// questions' best passages score 0.36–0.54, nonsense's best 0.04–0.24.
	// Passages that contain the words pass by keyword search regardless.
	MinSimilarity = 0.3
)

// Embedder embeds a query with the instance's current embedding model and
// says which model that was (so only vectors of that model are compared).
// Its errors match llm.ErrUnavailable when the model server cannot help.
type Embedder func(ctx context.Context, text string) (vec []float32, model string, err error)

// Searcher runs searches over the store.
type Searcher struct {
	Store *store.Store
	Embed Embedder
	// MinSimilarity overrides the package's floor (0 keeps it); models
	// whose unrelated texts score higher need a higher one.
	MinSimilarity float64
}

// Query is one search.
type Query struct {
	WorkspaceID      string
	Viewer           store.Viewer
	Text             string
	KnowledgeBaseIDs []string // empty: every document the viewer can see
	TopK             int      // default DefaultTopK, at most MaxTopK
	Mode             Mode     // default hybrid
}

// Result is a passage found, ready for the API's search results and a chat's citations.
type Result struct {
	ChunkID          string
	ChunkIndex       int
	DocumentID       string
	DocumentName     string
	KnowledgeBaseIDs []string // those the viewer can see
	Content          string
	Page             int    // 0: the format has no pages
	Location         string // Page as a citation names it: "p. 2", "slide 3"; "" without pages
	Heading          string
	// Words: the passage contains the query's words (keyword search found
	// it); Meaning: it is close in meaning (vector search found it above the
	// floor). One or both are true; they are how a person is told why it matched.
	Words, Meaning bool
	// Score orders results (higher is better): the RRF score in hybrid mode,
	// cosine similarity in vector mode, negated BM25 in keyword mode.
	Score   float64
	Snippet store.Snippet // best passage with the query's words marked; else the chunk's start
}

// Response is the outcome of a search.
type Response struct {
	Results []Result
	Mode    Mode // the mode that ran: hybrid falls back to keyword without the model server
	// Warning tells the person why results may be fewer than usual, e.g. the
	// model server being down during a hybrid search.
	Warning string
}

// Search finds the passages for q. Vector mode without the model server
// fails with an error matching llm.ErrUnavailable; hybrid mode then falls
// back to keyword search and says so in Response.Warning.
func (s *Searcher) Search(ctx context.Context, q Query) (*Response, error) {
	mode, err := ParseMode(string(q.Mode))
	if err != nil {
		return nil, err
	}
	q.TopK = min(cmp.Or(max(q.TopK, 0), DefaultTopK), MaxTopK)
	resp := &Response{Mode: mode, Results: []Result{}}
	if strings.TrimSpace(q.Text) == "" {
		return resp, nil
	}
	scope, err := s.Store.SearchScope(ctx, q.WorkspaceID, q.Viewer, q.KnowledgeBaseIDs)
	if err != nil || len(scope.DocumentIDs) == 0 {
		return resp, err
	}
	n := max(Candidates, q.TopK)
	var vec, kw []store.ChunkHit
	var vecErr, kwErr error
	// The halves of a hybrid search are independent: the keyword search runs
	// while the query is embedded and the vectors scanned.
	var wg sync.WaitGroup
	if mode != ModeKeyword {
		wg.Go(func() { vec, vecErr = s.vectorHits(ctx, q, scope, n) })
	}
	switch mode {
	case ModeKeyword:
		// Asked for exact words: the phrase as typed, never any one word of it.
		kw, kwErr = s.Store.PhraseSearch(ctx, q.WorkspaceID, scope, q.Text, n)
	case ModeHybrid:
		// A question in plain words: passages sharing some of them, best first.
		kw, kwErr = s.Store.KeywordSearch(ctx, q.WorkspaceID, scope, q.Text, n)
	}
	wg.Wait()
	vec = s.relevant(vec)
	switch {
	case vecErr != nil && mode == ModeHybrid && errors.Is(vecErr, llm.ErrUnavailable):
		resp.Mode, resp.Warning = ModeKeyword, "only keyword search was used: "+vecErr.Error()
	case vecErr != nil:
		return nil, vecErr
	}
	if kwErr != nil {
		return nil, kwErr
	}
	var hits []store.ChunkHit
	switch resp.Mode {
	case ModeVector:
		hits = vec
	case ModeKeyword:
		hits = kw
	default:
		hits = Fuse(RRFK, vec, kw)
	}
	hits = hits[:min(len(hits), q.TopK)]
	return resp, s.fill(ctx, q, hits, found(vec), found(kw), resp)
}

// relevant drops vector hits under the similarity floor, keeping the order.
func (s *Searcher) relevant(hits []store.ChunkHit) []store.ChunkHit {
	floor := cmp.Or(s.MinSimilarity, MinSimilarity)
	return slices.DeleteFunc(hits, func(h store.ChunkHit) bool { return h.Score < floor })
}

func found(hits []store.ChunkHit) map[int64]bool {
	m := make(map[int64]bool, len(hits))
	for _, h := range hits {
		m[h.Seq] = true
	}
	return m
}

func (s *Searcher) vectorHits(ctx context.Context, q Query, scope *store.SearchScope, n int) ([]store.ChunkHit, error) {
	if s.Embed == nil {
		return nil, &llm.UnavailableError{Reason: "no embedding model is configured; choose one in the admin settings"}
	}
	v, model, err := s.Embed(ctx, q.Text)
	if err != nil {
		return nil, err
	}
	return s.Store.VectorSearch(ctx, q.WorkspaceID, scope, model, v, n)
}

// Fuse merges ranked lists by reciprocal rank fusion: a hit's score is the sum
// over the lists of 1/(k + its 1-based rank there). Ties keep the order of
// first appearance, earlier lists first.
func Fuse(k int, lists ...[]store.ChunkHit) []store.ChunkHit {
	type fused struct {
		hit   store.ChunkHit
		score float64
	}
	bySeq := map[int64]*fused{}
	var order []*fused
	for _, list := range lists {
		for rank, h := range list {
			f := bySeq[h.Seq]
			if f == nil {
				f = &fused{hit: h}
				bySeq[h.Seq] = f
				order = append(order, f)
			} else if f.hit.Snippet.Text == "" {
				f.hit.Snippet = h.Snippet // keep the keyword list's snippet
			}
			f.score += 1 / float64(k+rank+1)
		}
	}
	slices.SortStableFunc(order, func(a, b *fused) int { return cmp.Compare(b.score, a.score) })
	out := make([]store.ChunkHit, len(order))
	for i, f := range order {
		out[i] = f.hit
		out[i].Score = f.score
	}
	return out
}

// fill turns hits into results: knowledge bases, and a snippet for hits that
// have none (vector hits).
func (s *Searcher) fill(ctx context.Context, q Query, hits []store.ChunkHit, byMeaning, byWords map[int64]bool, resp *Response) error {
	var docIDs []string
	var need []int64
	for _, h := range hits {
		docIDs = append(docIDs, h.DocumentID)
		if h.Snippet.Text == "" {
			need = append(need, h.Seq)
		}
	}
	kbs, err := s.Store.DocumentsKBIDs(ctx, q.WorkspaceID, q.Viewer, docIDs)
	if err != nil {
		return err
	}
	snippets := s.Store.Snippets
	if resp.Mode == ModeKeyword && q.Mode == ModeKeyword {
		snippets = s.Store.PhraseSnippets // the words as they were found: together
	}
	snips, err := snippets(ctx, q.WorkspaceID, need, q.Text)
	if err != nil {
		return err
	}
	for _, h := range hits {
		sn := h.Snippet
		if sn.Text == "" {
			sn = snips[h.Seq]
		}
		if sn.Text == "" {
			sn = store.Snippet{Text: lead(h.Content, 200)}
		}
		kb := kbs[h.DocumentID]
		if kb == nil {
			kb = []string{}
		}
		resp.Results = append(resp.Results, Result{
			ChunkID: h.ID, ChunkIndex: h.Index, DocumentID: h.DocumentID, DocumentName: h.DocumentName,
			KnowledgeBaseIDs: kb, Content: h.Content, Page: h.Page, Heading: h.Heading,
			Location: ingest.KindOfMIME(h.DocumentMIME).Location(h.Page),
			Words:    byWords[h.Seq], Meaning: byMeaning[h.Seq],
			Score: h.Score, Snippet: sn,
		})
	}
	return nil
}

// lead is the start of text, cut at a word boundary near n bytes.
func lead(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) <= n {
		return text
	}
	cut := strings.LastIndexByte(text[:n], ' ')
	if cut < n/2 {
		cut = n
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
	}
	return text[:cut] + "…"
}
