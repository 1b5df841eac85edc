package ingest

import (
	"math/rand"
	"strings"
	"testing"
)

func TestZZRandomChunks(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "Y", " ", "\n", "\n\n", ".", "日", "\xa5", "\t", "B", "é"}
	for iter := 0; iter < 20000; iter++ {
		var b strings.Builder
		n := rng.Intn(2000)
		for i := 0; i < n; i++ {
			s := alphabet[rng.Intn(len(alphabet))]
			if rng.Intn(50) == 0 {
				s = strings.Repeat(s, rng.Intn(500))
			}
			b.WriteString(s)
		}
		data := []byte(b.String())
		p, err := parseBytes(KindTXT, data, fuzzLimits)
		if err != nil {
			continue
		}
		chunks := Chunks(p, ChunkOptions{TargetTokens: 64, OverlapTokens: 16, MinTokens: 16, MaxTokens: 128})
		for i, c := range chunks {
			if strings.TrimSpace(c.Content) == "" || c.Tokens > 128 || c.Tokens != EstimateTokens(c.Content) ||
				c.Index != i || c.Overlap < 0 || c.Overlap >= len(c.Content) {
				t.Fatalf("iter %d bad chunk %d: %+v tokens=%d\ninput %q", iter, i, c, c.Tokens, data)
			}
		}
	}
}
