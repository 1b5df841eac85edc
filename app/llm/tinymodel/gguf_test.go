package tinymodel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// parsedGGUF is what readGGUF extracts: enough to check the container format
// independently of the writer.
type parsedGGUF struct {
	version   uint32
	kv        map[string]any
	tensors   []parsedTensor
	dataStart int64
	size      int64
}

type parsedTensor struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
}

// readGGUF is a minimal GGUF v3 reader written from the spec, to check the
// writer without a server.
func readGGUF(t *testing.T, data []byte) *parsedGGUF {
	t.Helper()
	r := bytes.NewReader(data)
	le := binary.LittleEndian
	read := func(v any) {
		t.Helper()
		if err := binary.Read(r, le, v); err != nil {
			t.Fatalf("read at %d: %v", r.Size()-int64(r.Len()), err)
		}
	}
	readString := func() string {
		var n uint64
		read(&n)
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var readValue func(typ uint32) any
	readValue = func(typ uint32) any {
		switch typ {
		case ggufUint32:
			var v uint32
			read(&v)
			return v
		case ggufInt32:
			var v int32
			read(&v)
			return v
		case ggufFloat32:
			var v float32
			read(&v)
			return v
		case ggufBool:
			var v bool
			read(&v)
			return v
		case ggufString:
			return readString()
		case ggufArray:
			var et uint32
			var n uint64
			read(&et)
			read(&n)
			vals := make([]any, n)
			for i := range vals {
				vals[i] = readValue(et)
			}
			return vals
		}
		t.Fatalf("unexpected value type %d", typ)
		return nil
	}

	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "GGUF" {
		t.Fatalf("magic = %q, %v", magic, err)
	}
	g := &parsedGGUF{kv: map[string]any{}, size: int64(len(data))}
	var nTensors, nKV uint64
	read(&g.version)
	read(&nTensors)
	read(&nKV)
	for range nKV {
		key := readString()
		var typ uint32
		read(&typ)
		g.kv[key] = readValue(typ)
	}
	for range nTensors {
		var ti parsedTensor
		ti.name = readString()
		var nDims uint32
		read(&nDims)
		ti.dims = make([]uint64, nDims)
		read(ti.dims)
		read(&ti.typ)
		read(&ti.offset)
		g.tensors = append(g.tensors, ti)
	}
	pos := r.Size() - int64(r.Len())
	g.dataStart = (pos + ggufAlignment - 1) / ggufAlignment * ggufAlignment
	return g
}

func (g *parsedGGUF) tensor(name string) (parsedTensor, bool) {
	for _, ti := range g.tensors {
		if ti.name == name {
			return ti, true
		}
	}
	return parsedTensor{}, false
}

// checkContainer verifies header, alignment and that tensors tile the data
// section without overlap.
func checkContainer(t *testing.T, g *parsedGGUF) {
	t.Helper()
	if g.version != 3 {
		t.Errorf("version = %d, want 3", g.version)
	}
	if g.dataStart%32 != 0 {
		t.Errorf("data section starts at %d, not 32-aligned", g.dataStart)
	}
	var next uint64
	for _, ti := range g.tensors {
		if ti.typ != ggmlTypeF32 {
			t.Errorf("%s: type %d, want F32", ti.name, ti.typ)
		}
		if ti.offset%32 != 0 {
			t.Errorf("%s: offset %d not 32-aligned", ti.name, ti.offset)
		}
		if ti.offset < next {
			t.Errorf("%s: offset %d overlaps the previous tensor (ends at %d)", ti.name, ti.offset, next)
		}
		n := uint64(4)
		for _, d := range ti.dims {
			n *= d
		}
		next = ti.offset + n
	}
	if end := g.dataStart + int64(next); end > g.size || g.size-end >= 32 {
		t.Errorf("file size %d, tensors end at %d", g.size, end)
	}
}

func writeChat(t *testing.T, opts ChatOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteChat(&buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeEmbed(t *testing.T, opts EmbedOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteEmbed(&buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteChatContainer(t *testing.T) {
	data := writeChat(t, ChatOptions{})
	if string(data[:4]) != "GGUF" || binary.LittleEndian.Uint32(data[4:8]) != 3 {
		t.Fatalf("header = % x", data[:8])
	}
	g := readGGUF(t, data)
	checkContainer(t, g)
	t.Logf("chat model: %d bytes, %d tensors, %d metadata keys", len(data), len(g.tensors), len(g.kv))

	if got := binary.LittleEndian.Uint64(data[8:16]); got != 12 || len(g.tensors) != 12 {
		t.Errorf("tensor count = %d (%d parsed), want 12 (3 + 9 per block)", got, len(g.tensors))
	}
	for k, v := range map[string]any{
		"general.architecture": "llama",
		"llama.context_length": uint32(4096),
		"llama.block_count":    uint32(1),
		"tokenizer.ggml.model": "gpt2",
		"tokenizer.ggml.pre":   "default",
	} {
		if g.kv[k] != v {
			t.Errorf("%s = %v, want %v", k, g.kv[k], v)
		}
	}
	tokens := g.kv["tokenizer.ggml.tokens"].([]any)
	if n := len(g.kv["tokenizer.ggml.token_type"].([]any)); n != len(tokens) {
		t.Errorf("%d token types for %d tokens", n, len(tokens))
	}
	if got := tokens[g.kv["tokenizer.ggml.eos_token_id"].(uint32)]; got != "<|im_end|>" {
		t.Errorf("eos token = %v", got)
	}
	if got := tokens[' ']; got != "Ġ" {
		t.Errorf("byte token for space = %v, want Ġ", got)
	}
	for _, m := range g.kv["tokenizer.ggml.merges"].([]any) {
		if !strings.Contains(m.(string), " ") {
			t.Errorf("merge %q has no space", m)
		}
	}
	if ti, _ := g.tensor("token_embd.weight"); ti.dims[1] != uint64(len(tokens)) {
		t.Errorf("token_embd dims %v for %d tokens", ti.dims, len(tokens))
	}
	if !bytes.Equal(data, writeChat(t, ChatOptions{})) {
		t.Error("WriteChat is not deterministic")
	}
}

// TestChatNextTokenTable runs the model's math in Go: with identity blocks
// the greedy answer must be the sentence, then EOS.
func TestChatNextTokenTable(t *testing.T) {
	const sentence = "the answer is in the notes [2]."
	data := writeChat(t, ChatOptions{Sentence: sentence})
	g := readGGUF(t, data)
	tokens := g.kv["tokenizer.ggml.tokens"].([]any)
	eos := int(g.kv["tokenizer.ggml.eos_token_id"].(uint32))
	embd, _ := g.tensor("token_embd.weight")
	out, _ := g.tensor("output.weight")
	nEmbd, nVocab := int(embd.dims[0]), int(embd.dims[1])
	row := func(ti parsedTensor, i int) []float32 {
		off := g.dataStart + int64(ti.offset) + int64(i*nEmbd*4)
		v := make([]float32, nEmbd)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+int64(4*j):]))
		}
		return v
	}
	rmsNorm := func(x []float32) []float32 {
		var ss float64
		for _, v := range x {
			ss += float64(v * v)
		}
		k := float32(1 / math.Sqrt(ss/float64(len(x))+1e-5))
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = v * k
		}
		return y
	}

	tok := int(' ') // a prompt ending in any ordinary token
	var answer strings.Builder
	for step := 0; ; step++ {
		h := rmsNorm(row(embd, tok))
		best, bestLogit, second := 0, float32(math.Inf(-1)), float32(math.Inf(-1))
		for v := range nVocab {
			var logit float32
			for j, w := range row(out, v) {
				logit += w * h[j]
			}
			if logit > bestLogit {
				best, bestLogit, second = v, logit, bestLogit
			} else if logit > second {
				second = logit
			}
		}
		if bestLogit-second < 100 {
			t.Fatalf("step %d: logit gap %v too small to survive sampling", step, bestLogit-second)
		}
		if best == eos {
			break
		}
		if step > 20 {
			t.Fatalf("no EOS after %q", answer.String())
		}
		answer.WriteString(strings.ReplaceAll(tokens[best].(string), "Ġ", " "))
		tok = best
	}
	if answer.String() != sentence {
		t.Errorf("answer = %q, want %q", answer.String(), sentence)
	}
}

func TestWriteChatRejectsRepeatedWords(t *testing.T) {
	err := WriteChat(io.Discard, ChatOptions{Sentence: "a cat saw the dog and the bird"})
	if err == nil {
		t.Fatal("want an error for a repeated word")
	}
}

func TestWriteEmbedContainer(t *testing.T) {
	for _, dim := range []int{128, 384} {
		t.Run(fmt.Sprint(dim), func(t *testing.T) {
			data := writeEmbed(t, EmbedOptions{Dim: dim})
			g := readGGUF(t, data)
			checkContainer(t, g)
			t.Logf("embed model: %d bytes, %d tensors, %d tokens", len(data), len(g.tensors), len(g.kv["tokenizer.ggml.tokens"].([]any)))
			if len(data) > 10<<20 {
				t.Errorf("model is %d bytes, want < 10 MB", len(data))
			}
			for k, v := range map[string]any{
				"general.architecture":        "bert",
				"bert.embedding_length":       uint32(dim),
				"bert.context_length":         uint32(512),
				"bert.pooling_type":           uint32(1),
				"bert.attention.causal":       false,
				"tokenizer.ggml.model":        "bert",
				"tokenizer.ggml.cls_token_id": uint32(embedCLS),
			} {
				if g.kv[k] != v {
					t.Errorf("%s = %v, want %v", k, g.kv[k], v)
				}
			}
			if n := len(g.kv["tokenizer.ggml.tokens"].([]any)); n < 1500 {
				t.Errorf("vocabulary has %d tokens, want a few thousand", n)
			}
			for _, name := range []string{"token_embd.weight", "position_embd.weight", "token_types.weight", "blk.0.layer_output_norm.weight"} {
				if _, ok := g.tensor(name); !ok {
					t.Errorf("missing tensor %s", name)
				}
			}
		})
	}
	if err := WriteEmbed(io.Discard, EmbedOptions{Dim: 100}); err == nil {
		t.Error("want an error for dim 100")
	}
}

func TestEmbedTokenize(t *testing.T) {
	v := newEmbedVocab()
	piece := func(ids []int32) string {
		var s []string
		for _, id := range ids {
			s = append(s, v.tokens[id])
		}
		return strings.Join(s, " ")
	}
	for in, want := range map[string]string{
		"The quick brown fox jumps.": "[CLS] ▁the ▁quick ▁brown ▁fox ▁jumps ▁. [SEP]",
		"invoiced Zyx":               "[CLS] ▁invoice d ▁z y x [SEP]",
		"Ünïcode":                    "[CLS] [UNK] [SEP]",
		"2024 [1]":                   "[CLS] ▁2 0 2 4 ▁[ ▁1 ▁] [SEP]",
	} {
		if got := piece(v.tokenize(in)); got != want {
			t.Errorf("tokenize(%q) = %s, want %s", in, got, want)
		}
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestReferenceEmbedSimilarity checks the model's design in plain Go: shared
// content words make texts similar; shared stop words barely do.
func TestReferenceEmbedSimilarity(t *testing.T) {
	emb := func(s string) []float32 {
		v, err := referenceEmbed(s, EmbedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	fox, fox2, tax := emb("the quick brown fox jumps"), emb("a brown fox jumps high"), emb("quarterly revenue tax invoice")
	related, unrelated := cosine(fox, fox2), cosine(fox, tax)
	t.Logf("related %.3f, unrelated %.3f", related, unrelated)
	if related < 0.5 || unrelated > 0.2 {
		t.Errorf("related %.3f, unrelated %.3f", related, unrelated)
	}
	stop := cosine(emb("the report of the board"), emb("the price of the apple"))
	if stop > 0.25 {
		t.Errorf("texts sharing only stop words: cosine %.3f", stop)
	}
	if got := cosine(emb("Invoice"), emb("invoice")); got < 0.9999 {
		t.Errorf("case changes the embedding: cosine %.5f", got)
	}
}
