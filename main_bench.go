package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"

	"quire/app/rag/ragbench"
)

// benchCmd is `quire bench retrieval`: how fast search is on this machine
// at a given corpus size (see package ragbench).
func benchCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "retrieval" {
		return errors.New("usage: quire bench retrieval [--chunks 100000] [--dim 768] [--scope-fraction 0.1] [--queries 200] [--json] [--cpuprofile FILE]")
	}
	fs := flag.NewFlagSet("bench retrieval", flag.ContinueOnError)
	var o ragbench.Options
	fs.IntVar(&o.Chunks, "chunks", 100_000, "chunks in the searched workspace")
	fs.IntVar(&o.Dim, "dim", 768, "vector dimensions")
	fs.Float64Var(&o.ScopeFraction, "scope-fraction", 0.1, "share of the documents in the knowledge base of the scoped searches")
	fs.IntVar(&o.Queries, "queries", 200, "searches per measurement")
	fs.StringVar(&o.Dir, "tmp", "", "folder for the temporary database (default: the system's temporary folder)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the searches to this file (for go tool pprof)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Profile = f
	}
	o.Progress = func(s string) { fmt.Fprintln(os.Stderr, "quire bench:", s) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := ragbench.Run(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(rep)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "corpus\t%d chunks × %d dims, knowledge base %d chunks (%.0f%%), %d queries, top %d, %d cores, %s kernel\n",
		rep.Chunks, rep.Dim, rep.ScopeChunks, 100*rep.ScopeFraction, rep.Queries, rep.TopK, rep.Cores, rep.Kernel)
	fmt.Fprintf(w, "insert\t%.0f vectors/s\n", rep.InsertVectorsPerS)
	fmt.Fprintf(w, "index\t%.1f MiB (%.1f MiB per 100k chunks), loaded in %.0f ms\n",
		float64(rep.IndexBytes)/(1<<20), float64(rep.IndexBytesPer100k)/(1<<20), rep.IndexLoadMS)
	fmt.Fprintln(w, "\tp50 ms\tp95 ms")
	for _, l := range []struct {
		name string
		l    ragbench.Latency
	}{
		{"vector (API)", rep.Vector}, {"vector, knowledge base (API)", rep.VectorKB}, {"keyword (API)", rep.Keyword},
		{"hybrid (API)", rep.Hybrid}, {"hybrid, knowledge base (API)", rep.HybridKB},
		{"hybrid, scope computed (API)", rep.HybridComputed}, {"scope (cached)", rep.Scope}, {"scope (computed)", rep.ScopeComputed},
		{"keyword, any of the words", rep.KeywordAny},
		{"index search", rep.IndexSearch}, {"index search, knowledge base", rep.IndexKB}, {"vec0 search", rep.Vec0Search},
		{"brute force (Go, float32)", rep.BruteForce},
	} {
		fmt.Fprintf(w, "%s\t%.2f\t%.2f\n", l.name, l.l.P50, l.l.P95)
	}
	fmt.Fprintf(w, "memory floor\t%.2f ms float32 (%.2f ms knowledge base), %.2f ms int8 codes (one core)\n", rep.FloorMS, rep.FloorKBMS, rep.FloorCodesMS)
	fmt.Fprintf(w, "index / floor\t%.2f× (knowledge base %.2f×)\n", rep.VectorToFloor, rep.VectorKBToFloor)
	fmt.Fprintf(w, "recall@%d\t%.3f (knowledge base %.3f)\n", rep.TopK, rep.RecallAt10, rep.RecallAt10KB)
	return w.Flush()
}
