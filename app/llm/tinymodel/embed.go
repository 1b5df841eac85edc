package tinymodel

import (
	"fmt"
	"hash/fnv"
	"io"
	"iter"
	"math"
	"strings"
	"unicode"
)

// EmbedOptions configures WriteEmbed. The zero value is ready to use.
type EmbedOptions struct {
	// Dim is bert.embedding_length: 384 (default) or any multiple of 64
	// (128 gives a ~4x faster, ~1.5 MB model).
	Dim int
	// ContextLength is bert.context_length (default 512).
	ContextLength int
	// Seed changes every word vector (default 1).
	Seed uint64
}

// Defaults of EmbedOptions.
const (
	DefaultEmbedDim           = 384
	DefaultEmbedContextLength = 512
)

func (o *EmbedOptions) setDefaults() error {
	if o.Dim == 0 {
		o.Dim = DefaultEmbedDim
	}
	if o.ContextLength == 0 {
		o.ContextLength = DefaultEmbedContextLength
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Dim < 64 || o.Dim%64 != 0 {
		return fmt.Errorf("tinymodel: embedding dim %d is not a positive multiple of 64", o.Dim)
	}
	return nil
}

// Per-token weights: a token's share in the mean-pooled embedding. Words
// dominate; stop words, single letters, word pieces and punctuation barely
// count, so texts sharing only "the" or a few letters stay dissimilar.
const (
	weightWord    = 1.0
	weightStop    = 0.15
	weightPiece   = 0.3 // letters, digits and suffixes
	weightPunct   = 0.1
	weightUnknown = 0.3
)

// wordPrefix marks a word-initial piece in GGML WordPiece vocabularies
// (instead of the "##" that marks continuations in BERT's vocab.txt).
const wordPrefix = "▁"

// Special tokens; ids are their positions.
var embedSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

const (
	embedPAD = iota
	embedUNK
	embedCLS
	embedSEP
	embedMASK
)

// embedVocab is the WordPiece vocabulary with each token's pooling weight
// (0 for special tokens, which therefore contribute nothing).
type embedVocab struct {
	tokens  []string
	types   []int32
	weights []float32
	index   map[string]int32
}

func (v *embedVocab) add(tok string, typ int32, weight float32) {
	if _, dup := v.index[tok]; dup {
		return
	}
	v.index[tok] = int32(len(v.tokens))
	v.tokens = append(v.tokens, tok)
	v.types = append(v.types, typ)
	v.weights = append(v.weights, weight)
}

func newEmbedVocab() *embedVocab {
	v := &embedVocab{index: map[string]int32{}}
	for i, s := range embedSpecials {
		typ, w := tokenTypeControl, float32(0)
		if i == embedUNK {
			typ, w = tokenTypeUnknown, weightUnknown
		}
		v.add(s, typ, w)
	}
	stop := map[string]bool{}
	for _, w := range strings.Fields(stopWords) {
		stop[w] = true
		v.add(wordPrefix+w, tokenTypeNormal, weightStop)
	}
	for _, w := range strings.Fields(commonWords) {
		if len(w) > 1 {
			v.add(wordPrefix+w, tokenTypeNormal, weightWord)
		}
	}
	// Single characters, both word-initial and as continuations, so that any
	// ASCII text tokenizes without [UNK].
	for c := byte('!'); c <= '~'; c++ {
		if c >= 'A' && c <= 'Z' {
			continue // the tokenizer lowercases
		}
		w := float32(weightPiece)
		if !isAlnum(c) {
			w = weightPunct
		}
		v.add(wordPrefix+string(c), tokenTypeNormal, w)
		v.add(string(c), tokenTypeNormal, w)
	}
	for _, s := range suffixPieces {
		v.add(s, tokenTypeNormal, weightPiece)
	}
	return v
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// WriteEmbed writes the tiny embedding model as GGUF to w.
//
// Design: one bert encoder block that is the identity (zero attn_output and
// ffn_down, so only the residual stream and the layer norms act), mean
// pooling, and a pseudo-random vector per token seeded by the token text. The
// embedding of a text is therefore the normalised, weighted mean of its word
// vectors. Token weights survive the layer norms through two "sink"
// dimensions: a token's vector is v + s*(e0-e1) with v its unit-variance
// random part; the norms divide by a std that grows with s, and the last norm
// zeroes dims 0 and 1, leaving v scaled by the token's weight.
func WriteEmbed(w io.Writer, opts EmbedOptions) error {
	if err := opts.setDefaults(); err != nil {
		return err
	}
	d := opts.Dim
	const nFF, nLayer, headDim, nTypes = 16, 1, 64, 2
	v := newEmbedVocab()
	nVocab := len(v.tokens)

	embd := make([]float32, d*nVocab)
	for id := range nVocab {
		copy(embd[id*d:(id+1)*d], tokenVector(v.tokens[id], v.weights[id], d, opts.Seed))
	}
	finalNorm := filled(d, 1)
	finalNorm[0], finalNorm[1] = 0, 0 // drop the sink dimensions

	f := &ggufFile{}
	f.set("general.architecture", "bert")
	f.set("general.type", "model")
	f.set("general.name", "quire-tiny-embed")
	f.set("general.file_type", uint32(0)) // all F32
	f.set("bert.context_length", uint32(opts.ContextLength))
	f.set("bert.embedding_length", uint32(d))
	f.set("bert.feed_forward_length", uint32(nFF))
	f.set("bert.block_count", uint32(nLayer))
	f.set("bert.attention.head_count", uint32(d/headDim))
	f.set("bert.attention.layer_norm_epsilon", float32(1e-12))
	f.set("bert.attention.causal", false)
	f.set("bert.pooling_type", uint32(1)) // mean
	f.set("tokenizer.ggml.model", "bert")
	f.set("tokenizer.ggml.tokens", v.tokens)
	f.set("tokenizer.ggml.token_type", v.types)
	f.set("tokenizer.ggml.token_type_count", uint32(nTypes))
	f.set("tokenizer.ggml.padding_token_id", uint32(embedPAD))
	f.set("tokenizer.ggml.unknown_token_id", uint32(embedUNK))
	f.set("tokenizer.ggml.cls_token_id", uint32(embedCLS))
	// llama.cpp's (misspelt) key; Ollama reads it as a fallback too.
	f.set("tokenizer.ggml.seperator_token_id", uint32(embedSEP))
	f.set("tokenizer.ggml.mask_token_id", uint32(embedMASK))
	f.set("tokenizer.ggml.add_bos_token", true)
	f.set("tokenizer.ggml.add_eos_token", true)

	zeros := func(n int) []float32 { return make([]float32, n) }
	f.addTensor("token_embd.weight", embd, d, nVocab)
	f.addTensor("token_types.weight", zeros(d*nTypes), d, nTypes)
	f.addTensor("position_embd.weight", zeros(d*opts.ContextLength), d, opts.ContextLength)
	f.addTensor("token_embd_norm.weight", filled(d, 1), d)
	f.addTensor("token_embd_norm.bias", zeros(d), d)
	for l := range nLayer {
		blk := fmt.Sprintf("blk.%d.", l)
		for _, name := range []string{"attn_q", "attn_k", "attn_v", "attn_output"} {
			f.addTensor(blk+name+".weight", zeros(d*d), d, d) // attn_output zero: identity block
			f.addTensor(blk+name+".bias", zeros(d), d)
		}
		f.addTensor(blk+"attn_output_norm.weight", filled(d, 1), d)
		f.addTensor(blk+"attn_output_norm.bias", zeros(d), d)
		f.addTensor(blk+"ffn_up.weight", zeros(d*nFF), d, nFF)
		f.addTensor(blk+"ffn_up.bias", zeros(nFF), nFF)
		f.addTensor(blk+"ffn_down.weight", zeros(nFF*d), nFF, d) // zero: identity block
		f.addTensor(blk+"ffn_down.bias", zeros(d), d)
		norm := filled(d, 1)
		if l == nLayer-1 {
			norm = finalNorm
		}
		f.addTensor(blk+"layer_output_norm.weight", norm, d)
		f.addTensor(blk+"layer_output_norm.bias", zeros(d), d)
	}
	return f.writeTo(w)
}

// tokenVector returns the input embedding of a token: zero for weight 0,
// else a deterministic random vector seeded by the token's text whose
// post-norm length is proportional to weight (see WriteEmbed).
func tokenVector(tok string, weight float32, d int, seed uint64) []float32 {
	x := make([]float32, d)
	if weight <= 0 {
		return x
	}
	h := fnv.New64a()
	h.Write([]byte(tok))
	rng := splitMix64(h.Sum64() ^ seed*0x9e3779b97f4a7c15)

	// Random part in dims 2..d-1, centred and scaled to unit variance so that
	// the first layer norm leaves it unchanged for weight 1.
	r := make([]float64, d-2)
	var mean float64
	for i := range r {
		r[i] = rng.normal()
		mean += r[i]
	}
	mean /= float64(len(r))
	var ss float64
	for i := range r {
		r[i] -= mean
		ss += r[i] * r[i]
	}
	k := math.Sqrt(float64(len(r)) / ss)
	for i := range r {
		x[i+2] = float32(r[i] * k)
	}
	// Sink: with ||v||^2 = d-2, a layer norm gives v a length of
	// sqrt(d) * sqrt((d-2)/(d-2+2s^2)), i.e. weight * sqrt(d) for the s below
	// (the 2-dim loss at weight 1 is negligible).
	w := float64(weight)
	s := math.Sqrt(float64(d-2) * (1/(w*w) - 1) / 2)
	x[0], x[1] = float32(s), float32(-s)
	return x
}

// splitMix64 is a tiny deterministic PRNG (SplitMix64); unlike math/rand its
// output is fixed by this code, so model files never change across Go versions.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// normal returns a standard normal sample (Box-Muller).
func (s *splitMix64) normal() float64 {
	u1 := (float64(s.next()>>11) + 0.5) / (1 << 53)
	u2 := float64(s.next()>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// tokenize mirrors Ollama's WordPiece tokenizer (tokenizer/wordpiece.go
// in ollama v0.17.4) with lowercasing and [CLS]/[SEP] added.
func (v *embedVocab) tokenize(s string) []int32 {
	ids := []int32{embedCLS}
	for word := range wordPieceWords(s) {
		var pieces []int32
		for start := 0; start < len(word); {
			end := len(word)
			piece := int32(-1)
			for ; start < end; end-- {
				sub := word[start:end]
				if start == 0 {
					sub = wordPrefix + sub
				}
				if id, ok := v.index[strings.ToLower(sub)]; ok {
					piece = id
					break
				}
			}
			if piece < 0 {
				pieces = nil
				break
			}
			pieces = append(pieces, piece)
			start = end
		}
		if len(pieces) == 0 {
			pieces = []int32{embedUNK}
		}
		ids = append(ids, pieces...)
	}
	return append(ids, embedSEP)
}

// wordPieceWords splits on whitespace, then splits off each punctuation rune
// (CJK handling of the original is omitted).
func wordPieceWords(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for w := range strings.FieldsFuncSeq(s, unicode.IsSpace) {
			for start := 0; start < len(w); {
				end := strings.IndexFunc(w[start:], unicode.IsPunct)
				if end < 0 {
					end = len(w) - start
				} else if end == 0 {
					end = 1
				}
				if !yield(w[start : start+end]) {
					return
				}
				start += end
			}
		}
	}
}

// referenceEmbed computes in plain Go what the served model returns for
// text: the same tokenizer, token vectors, layer norms, mean pooling and L2
// normalisation (attention and MLP contribute exactly zero). Tests use it to
// check the server against the design.
func referenceEmbed(text string, opts EmbedOptions) ([]float32, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	v := newEmbedVocab()
	d := opts.Dim
	sum := make([]float64, d)
	ids := v.tokenize(text)
	for _, id := range ids {
		x := tokenVector(v.tokens[id], v.weights[id], d, opts.Seed)
		x = layerNorm(layerNorm(x)) // token_embd_norm, attn_output_norm
		x = layerNorm(x)            // layer_output_norm, then drop the sinks
		x[0], x[1] = 0, 0
		for i := range x {
			sum[i] += float64(x[i])
		}
	}
	var norm float64
	for _, s := range sum {
		norm += s * s
	}
	norm = math.Max(math.Sqrt(norm), 1e-12)
	out := make([]float32, d)
	for i, s := range sum {
		out[i] = float32(s / norm)
	}
	return out, nil
}

func layerNorm(x []float32) []float32 {
	var mean, variance float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (float64(v) - mean) * (float64(v) - mean)
	}
	variance /= float64(len(x))
	inv := 1 / math.Sqrt(variance+1e-12)
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32((float64(v) - mean) * inv)
	}
	return out
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
