package knowledge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"quire/app/ingest"
	"quire/app/llm/ollamatest"
)

// BenchmarkIngest compares end-to-end ingestion (stored file → job runner →
// parse → chunk → embed → chunks + FTS + vectors in SQLite → ready) with
// calling Ollama's /api/embed directly on the same chunks in batches of the
// same size: the difference is Quire's own overhead.
//
//	go test ./app/knowledge/ -run '^$' -bench Ingest -benchtime 5x
func BenchmarkIngest(b *testing.B) {
	srv := ollamatest.StartShared(b)
	const sections, batch = 32, 16
	content := longDoc(sections)
	parsed, err := ingest.Parse(context.Background(), ingest.KindMD, strings.NewReader(content), int64(len(content)), ingest.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	chunks := ingest.Chunks(parsed, ingest.ChunkOptions{TargetTokens: 512, MaxTokens: 512})
	b.Logf("%d chunks of about %d tokens", len(chunks), chunks[0].Tokens)

	b.Run("quire", func(b *testing.B) {
		e := newEnv(b, srv.URL, srv.EmbedModel, withBatchSize(batch))
		began, i := time.Now(), 0
		for b.Loop() {
			d := e.upload(b, e.ws.ID, fmt.Sprintf("doc%d.md", i), content, e.shared)
			if d = e.waitEmbedded(b, e.ws.ID, d.ID, srv.EmbedModel); d.ChunkCount != len(chunks) {
				b.Fatalf("%d chunks, want %d", d.ChunkCount, len(chunks))
			}
			i++
		}
		b.ReportMetric(float64(len(chunks)*b.N)/time.Since(began).Seconds(), "chunks/s")
	})
	b.Run("ollama-direct", func(b *testing.B) {
		began := time.Now()
		for b.Loop() {
			for start := 0; start < len(chunks); start += batch {
				var in []string
				for _, c := range chunks[start:min(start+batch, len(chunks))] {
					in = append(in, c.Content)
				}
				if _, err := srv.Client.Embed(context.Background(), &api.EmbedRequest{Model: srv.EmbedModel, Input: in}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(chunks)*b.N)/time.Since(began).Seconds(), "chunks/s")
	})
}
