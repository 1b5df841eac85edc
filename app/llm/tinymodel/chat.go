package tinymodel

import (
	"fmt"
	"io"
	"strings"
)

// DefaultSentence is what the chat model answers to every prompt. It carries a
// citation marker so tests can exercise citation parsing.
const DefaultSentence = "Quire answers from your documents [1]."

// ChatTemplate is the Ollama (Go text/template) prompt template matching the
// chat model's special tokens (ChatML style).
const ChatTemplate = `{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`

// ChatStops are the stop sequences to register with the chat model. The model
// ends with its EOS token anyway; these keep the Modelfile realistic.
var ChatStops = []string{"<|im_start|>", "<|im_end|>"}

// Special tokens of the chat vocabulary.
const (
	chatBOS     = "<|endoftext|>"
	chatIMStart = "<|im_start|>"
	chatIMEnd   = "<|im_end|>" // EOS
)

// DefaultChatContextLength is the chat model's default context length.
const DefaultChatContextLength = 4096

// ChatOptions configures WriteChat. The zero value is ready to use.
type ChatOptions struct {
	// Sentence is the fixed answer (default DefaultSentence). Its
	// space-separated words must be distinct: each word is one token and the
	// model's next token depends only on the current one.
	Sentence string
	// ContextLength is llama.context_length (default DefaultChatContextLength).
	ContextLength int
}

// chatLogit is the logit of the chosen next token; all others get 0. A gap of
// 200 keeps every other token's probability below e^-40 even at temperature 5.
const chatLogit = 200

// WriteChat writes the tiny chat model as GGUF to w.
//
// Design: every transformer block is the identity (attn_output and ffn_down
// are zero, so the residual stream passes through unchanged), hence the logits
// depend only on the current token. Token embeddings are one-hot "states":
// state 0 for every ordinary token and state i for the i-th word of the
// sentence. output.weight maps state 0 to the first word, word i to word i+1
// and the last word to EOS. The vocabulary is byte-level GPT-2 BPE (256 byte
// tokens, a few merges) plus one token per sentence word (reusing a byte or
// merge token when one is spelt the same). Only the last prompt token
// matters, and ChatTemplate always ends with a newline (state 0), so every
// answer is the whole sentence. (A raw prompt ending in a sentence word would
// get the rest of the sentence.)
func WriteChat(w io.Writer, opts ChatOptions) error {
	if opts.Sentence == "" {
		opts.Sentence = DefaultSentence
	}
	return writeChains(w, "quire-tiny-chat", opts.ContextLength, []string{opts.Sentence}, nil)
}

// writeChains writes a chat model that answers chains[0] after an ordinary
// token and chains[i] after the control token markers[i-1] (see WriteChat
// for the design; WriteAgent uses the markers). Words must be distinct across
// all chains, since a word's one state names its one successor.
func writeChains(w io.Writer, name string, contextLength int, chains []string, markers []string) error {
	if contextLength == 0 {
		contextLength = DefaultChatContextLength
	}

	tokens, types, merges := gpt2BaseVocab()
	index := make(map[string]int, len(tokens))
	for i, t := range tokens {
		index[t] = i
	}
	addToken := func(text string, typ int32) (int, error) {
		if _, dup := index[text]; dup {
			return 0, fmt.Errorf("tinymodel: token %q already in vocabulary", text)
		}
		index[text] = len(tokens)
		tokens = append(tokens, text)
		types = append(types, typ)
		return len(tokens) - 1, nil
	}

	used := map[int]bool{}
	chainIDs := make([][]int, len(chains))
	for c, sentence := range chains {
		words := strings.Fields(sentence)
		if len(words) == 0 {
			return fmt.Errorf("tinymodel: empty sentence")
		}
		for i, word := range words {
			if i > 0 {
				word = " " + word
			}
			text := gpt2Encode(word)
			id, ok := index[text]
			if !ok {
				id, _ = addToken(text, tokenTypeNormal)
			}
			if used[id] {
				return fmt.Errorf("tinymodel: sentence word %q repeats; words must be distinct", words[i])
			}
			used[id] = true
			chainIDs[c] = append(chainIDs[c], id)
		}
	}
	var specials [3]int
	for i, text := range []string{chatBOS, chatIMStart, chatIMEnd} {
		id, err := addToken(text, tokenTypeControl)
		if err != nil {
			return fmt.Errorf("sentence must not contain special tokens: %w", err)
		}
		specials[i] = id
	}
	bos, eos := specials[0], specials[2]
	markerIDs := make([]int, len(markers))
	for i, text := range markers {
		id, err := addToken(text, tokenTypeControl)
		if err != nil {
			return fmt.Errorf("sentence must not contain marker tokens: %w", err)
		}
		markerIDs[i] = id
	}

	// States: 0 for every ordinary token (next: the first chain's first
	// word), one per word (next: the following word, or EOS after a chain's
	// last), and one per marker (next: its chain's first word).
	nVocab := len(tokens)
	state := make([]int, nVocab)  // 0 for every ordinary token
	next := []int{chainIDs[0][0]} // next token per state
	for c, ids := range chainIDs {
		if c > 0 {
			state[markerIDs[c-1]] = len(next)
			next = append(next, ids[0])
		}
		for i, id := range ids {
			state[id] = len(next)
			if i+1 < len(ids) {
				next = append(next, ids[i+1])
			} else {
				next = append(next, eos)
			}
		}
	}
	nStates := len(next)
	nEmbd := max(16, alignInt(nStates, 8)) // two heads of even size for RoPE
	const nHead, nFF, nLayer = 2, 32, 1

	// Token embeddings: one-hot state per token.
	embd := make([]float32, nEmbd*nVocab)
	for id, s := range state {
		embd[id*nEmbd+s] = 1
	}

	// After RMSNorm a one-hot vector e_j becomes sqrt(nEmbd)*e_j, so scale the
	// table by 1/sqrt(nEmbd) to make the chosen logit exactly chatLogit.
	scale := chatLogit / sqrt32(float32(nEmbd))
	output := make([]float32, nEmbd*nVocab)
	for s, id := range next {
		output[id*nEmbd+s] = scale
	}

	f := &ggufFile{}
	f.set("general.architecture", "llama")
	f.set("general.type", "model")
	f.set("general.name", name)
	f.set("general.file_type", uint32(0)) // all F32
	f.set("llama.vocab_size", uint32(nVocab))
	f.set("llama.context_length", uint32(contextLength))
	f.set("llama.embedding_length", uint32(nEmbd))
	f.set("llama.block_count", uint32(nLayer))
	f.set("llama.feed_forward_length", uint32(nFF))
	f.set("llama.attention.head_count", uint32(nHead))
	f.set("llama.attention.head_count_kv", uint32(nHead))
	f.set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	f.set("llama.rope.dimension_count", uint32(nEmbd/nHead))
	f.set("llama.rope.freq_base", float32(10000))
	f.set("tokenizer.ggml.model", "gpt2")
	f.set("tokenizer.ggml.pre", "default")
	f.set("tokenizer.ggml.tokens", tokens)
	f.set("tokenizer.ggml.token_type", types)
	f.set("tokenizer.ggml.merges", merges)
	f.set("tokenizer.ggml.bos_token_id", uint32(bos))
	f.set("tokenizer.ggml.eos_token_id", uint32(eos))
	f.set("tokenizer.ggml.add_bos_token", false)
	f.set("tokenizer.ggml.add_eos_token", false)

	f.addTensor("token_embd.weight", embd, nEmbd, nVocab)
	f.addTensor("output_norm.weight", filled(nEmbd, 1), nEmbd)
	f.addTensor("output.weight", output, nEmbd, nVocab)
	for l := range nLayer {
		blk := fmt.Sprintf("blk.%d.", l)
		f.addTensor(blk+"attn_norm.weight", filled(nEmbd, 1), nEmbd)
		f.addTensor(blk+"attn_q.weight", make([]float32, nEmbd*nEmbd), nEmbd, nEmbd)
		f.addTensor(blk+"attn_k.weight", make([]float32, nEmbd*nEmbd), nEmbd, nEmbd)
		f.addTensor(blk+"attn_v.weight", make([]float32, nEmbd*nEmbd), nEmbd, nEmbd)
		f.addTensor(blk+"attn_output.weight", make([]float32, nEmbd*nEmbd), nEmbd, nEmbd) // zero: identity block
		f.addTensor(blk+"ffn_norm.weight", filled(nEmbd, 1), nEmbd)
		f.addTensor(blk+"ffn_gate.weight", make([]float32, nEmbd*nFF), nEmbd, nFF)
		f.addTensor(blk+"ffn_up.weight", make([]float32, nEmbd*nFF), nEmbd, nFF)
		f.addTensor(blk+"ffn_down.weight", make([]float32, nFF*nEmbd), nFF, nEmbd) // zero: identity block
	}
	return f.writeTo(w)
}

// Token types as in llama.cpp's llama_token_type.
const (
	tokenTypeNormal  int32 = 1
	tokenTypeUnknown int32 = 2
	tokenTypeControl int32 = 3
)

// chatMerges are a few common English BPE merges, applied in this order
// (rank). They only make prompt tokenisation a little more realistic.
var chatMerges = []string{
	"Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r", "Ġ s", "a t",
	"Ġ w", "Ġ o", "e n", "Ġ c", "i t", "i s", "a n", "o r", "e s", "Ġ b",
	"e d", "Ġ f", "in g", "Ġ p", "o u", "Ġa n", "a l", "a r", "Ġt o", "Ġ m",
	"Ġo f", "Ġ in", "Ġ d", "Ġ h", "Ġan d",
}

// gpt2BaseVocab returns the 256 byte tokens (in byte order) followed by the
// merge results, their token types, and the merges.
func gpt2BaseVocab() (tokens []string, types []int32, merges []string) {
	for b := range 256 {
		tokens = append(tokens, string(gpt2ByteToRune[b]))
	}
	for _, m := range chatMerges {
		a, b, _ := strings.Cut(m, " ")
		tokens = append(tokens, a+b)
	}
	types = make([]int32, len(tokens))
	for i := range types {
		types[i] = tokenTypeNormal
	}
	return tokens, types, append([]string(nil), chatMerges...)
}

// gpt2ByteToRune is GPT-2's bytes_to_unicode: printable bytes map to
// themselves, the others to U+0100 onwards, so every token is printable text.
var gpt2ByteToRune = func() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || ('¡' <= b && b <= '¬') || ('®' <= b && b <= 'ÿ') {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}()

// gpt2Encode maps text to its byte-level BPE token spelling (" " -> "Ġ").
func gpt2Encode(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		sb.WriteRune(gpt2ByteToRune[s[i]])
	}
	return sb.String()
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func alignInt(n, a int) int { return (n + a - 1) / a * a }

// ToolCallSentence is the answer of the tool-calling variant of the chat
// model (ToolTemplate): a JSON tool call, which Ollama's tool parser turns
// into tool_calls when the request offers a tool named get_weather.
const ToolCallSentence = `{"name": "get_weather", "arguments": {"city": "Paris"}}`

// ToolTemplate is ChatTemplate with tools: it lists the offered tools and
// renders earlier tool calls as the JSON the model writes, so Ollama reports
// the "tools" capability and parses a reply starting with "{" as tool calls.
const ToolTemplate = `{{- if .Tools }}<|im_start|>system
Tools: {{ range .Tools }}{{ .Function.Name }} {{ end }}<|im_end|>
{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}
{{ if .ToolCalls }}{{ range .ToolCalls }}{"name": "{{ .Function.Name }}", "arguments": {{ .Function.Arguments }}}{{ end }}{{ else }}{{ .Content }}{{ end }}<|im_end|>
{{ end }}<|im_start|>assistant
`
