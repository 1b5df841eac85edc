package ragbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"quire/app/rag/ragbench"
)

// TestBenchRetrievalJSON runs the real command on a small corpus: one JSON
// object with every figure, the fast path's recall at target, latencies and
// floors measured (not zero), and the temporary data dir gone afterwards.
func TestBenchRetrievalJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and a corpus")
	}
	bin := filepath.Join(t.TempDir(), "quire")
	build := exec.Command("go", "build", "-o", bin, "quire")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, "bench", "retrieval", "--chunks", "3000", "--dim", "96", "--queries", "30", "--scope-fraction", "0.2", "--json", "--tmp", tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	if strings.Count(strings.TrimSpace(stdout.String()), "\n") != 0 {
		t.Fatalf("not one JSON object:\n%s", stdout.String())
	}
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"insert_vectors_per_s", "index_load_ms", "index_bytes", "index_bytes_per_100k_chunks",
		"floor_ms", "floor_kb_ms", "floor_codes_ms", "index_search_to_floor", "index_search_kb_to_floor"} {
		if v, ok := m[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, m[k])
		}
	}
	for _, k := range []string{"vector", "vector_kb", "keyword", "hybrid", "hybrid_kb", "hybrid_scope_computed", "scope", "scope_computed", "index_search", "index_search_kb", "vec0_search", "brute_force"} {
		l, ok := m[k].(map[string]any)
		if !ok || l["p50_ms"].(float64) <= 0 || l["p95_ms"].(float64) < l["p50_ms"].(float64) {
			t.Errorf("%s = %v", k, m[k])
		}
	}
	if m["scope_chunks"].(float64) != 600 || m["chunks"].(float64) != 3000 {
		t.Errorf("corpus: %v chunks, %v in the knowledge base", m["chunks"], m["scope_chunks"])
	}
	for _, k := range []string{"recall_at_10", "recall_at_10_kb"} {
		if r := m[k].(float64); r < 0.99 {
			t.Errorf("%s %.3f, want ≥ 0.99", k, r)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the temporary data dir is left behind: %v", left)
	}
}

// TestBenchOptions: sizes out of range are refused before anything is built.
func TestBenchOptions(t *testing.T) {
	ok := ragbench.Options{Chunks: 1000, Dim: 8, ScopeFraction: 0.1, Queries: 5}
	for name, o := range map[string]func(*ragbench.Options){
		"no chunks":        func(o *ragbench.Options) { o.Chunks = 0 },
		"too many chunks":  func(o *ragbench.Options) { o.Chunks = ragbench.MaxChunks + 1 },
		"negative dim":     func(o *ragbench.Options) { o.Dim = -768 },
		"huge dim":         func(o *ragbench.Options) { o.Dim = 1 << 20 },
		"too many bytes":   func(o *ragbench.Options) { o.Chunks, o.Dim = ragbench.MaxChunks, ragbench.MaxDim },
		"zero fraction":    func(o *ragbench.Options) { o.ScopeFraction = 0 },
		"fraction over 1":  func(o *ragbench.Options) { o.ScopeFraction = 1.5 },
		"NaN fraction":     func(o *ragbench.Options) { o.ScopeFraction = nan() },
		"no queries":       func(o *ragbench.Options) { o.Queries = 0 },
		"negative queries": func(o *ragbench.Options) { o.Queries = -1 },
	} {
		bad := ok
		o(&bad)
		bad.Dir = filepath.Join(t.TempDir(), "never")
		if _, err := ragbench.Run(context.Background(), bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := os.Stat(bad.Dir); err == nil {
			t.Errorf("%s: built something", name)
		}
	}
}

func nan() float64 { var z float64; return z / z }
