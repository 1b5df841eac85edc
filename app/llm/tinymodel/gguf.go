// Package tinymodel writes tiny, deterministic GGUF models that a real Ollama
// server can load, so tests exercise real HTTP, streaming, templates,
// tokenizers, runners and embeddings without downloading any weights.
//
// Two models are provided:
//
//   - WriteChat: a llama-architecture model with identity transformer blocks
//     whose output layer is a next-token table, so it always answers
//     DefaultSentence and then stops, whatever the prompt or sampling options.
//   - WriteEmbed: a bert-architecture embedding model whose output is the
//     (weighted) mean of pseudo-random per-word vectors, so texts sharing words
//     are close in cosine similarity and unrelated texts are not.
//
// Only answer quality is fake. Files are GGUF v3 with F32 tensors and are
// written with the standard library only.
package tinymodel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// GGUF constants, see https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
const (
	ggufMagic     = "GGUF"
	ggufVersion   = 3
	ggufAlignment = 32 // default general.alignment

	ggmlTypeF32 = 0 // tensor type
)

// GGUF metadata value types.
const (
	ggufUint32  uint32 = 4
	ggufInt32   uint32 = 5
	ggufFloat32 uint32 = 6
	ggufBool    uint32 = 7
	ggufString  uint32 = 8
	ggufArray   uint32 = 9
)

type ggufKV struct {
	key string
	val any // uint32, int32, float32, bool, string, []string, []int32, []float32
}

type ggufTensor struct {
	name string
	dims []uint64 // ne[0] first: the fastest-varying dimension
	data []float32
}

// ggufFile accumulates metadata and tensors and serialises them in order.
type ggufFile struct {
	kvs     []ggufKV
	tensors []ggufTensor
}

func (f *ggufFile) set(key string, val any) { f.kvs = append(f.kvs, ggufKV{key, val}) }

// addTensor adds an F32 tensor. dims follow GGML order: dims[0] is the row
// length, so a [n_embd, n_vocab] matrix stores one n_embd row per token.
func (f *ggufFile) addTensor(name string, data []float32, dims ...int) {
	n := 1
	ud := make([]uint64, len(dims))
	for i, d := range dims {
		n *= d
		ud[i] = uint64(d)
	}
	if n != len(data) {
		panic(fmt.Sprintf("tinymodel: tensor %s has %d values, dims %v need %d", name, len(data), dims, n))
	}
	f.tensors = append(f.tensors, ggufTensor{name, ud, data})
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// writeTo serialises the file: header, metadata, tensor infos, padding, then
// the tensor data, each tensor starting on a ggufAlignment boundary.
func (f *ggufFile) writeTo(w io.Writer) error {
	cw := &countingWriter{w: bufio.NewWriterSize(w, 1<<16)}
	le := binary.LittleEndian
	put := func(v any) { _ = binary.Write(cw, le, v) } // errors surface via cw.err

	cw.writeString(ggufMagic)
	put(uint32(ggufVersion))
	put(uint64(len(f.tensors)))
	put(uint64(len(f.kvs)))

	for _, kv := range f.kvs {
		cw.writeGGUFString(kv.key)
		switch v := kv.val.(type) {
		case uint32:
			put(ggufUint32)
			put(v)
		case int32:
			put(ggufInt32)
			put(v)
		case float32:
			put(ggufFloat32)
			put(v)
		case bool:
			put(ggufBool)
			put(v)
		case string:
			put(ggufString)
			cw.writeGGUFString(v)
		case []string:
			put(ggufArray)
			put(ggufString)
			put(uint64(len(v)))
			for _, s := range v {
				cw.writeGGUFString(s)
			}
		case []int32:
			put(ggufArray)
			put(ggufInt32)
			put(uint64(len(v)))
			put(v)
		case []float32:
			put(ggufArray)
			put(ggufFloat32)
			put(uint64(len(v)))
			put(v)
		default:
			return fmt.Errorf("tinymodel: unsupported metadata type %T for %s", v, kv.key)
		}
	}

	var offset uint64
	for _, t := range f.tensors {
		cw.writeGGUFString(t.name)
		put(uint32(len(t.dims)))
		put(t.dims)
		put(uint32(ggmlTypeF32))
		put(offset)
		offset = alignUp(offset+uint64(len(t.data))*4, ggufAlignment)
	}

	cw.pad(ggufAlignment)
	buf := make([]byte, 0, 1<<16)
	for _, t := range f.tensors {
		for i, v := range t.data {
			buf = le.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) || i == len(t.data)-1 {
				cw.write(buf)
				buf = buf[:0]
			}
		}
		cw.pad(ggufAlignment)
	}
	if cw.err != nil {
		return cw.err
	}
	return cw.w.Flush()
}

// countingWriter tracks the file offset (for alignment padding) and keeps the
// first error so the serialiser can stay linear.
type countingWriter struct {
	w   *bufio.Writer
	n   uint64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.write(p)
	return len(p), c.err
}

func (c *countingWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += uint64(n)
	c.err = err
}

func (c *countingWriter) writeString(s string) { c.write([]byte(s)) }

func (c *countingWriter) writeGGUFString(s string) {
	c.write(binary.LittleEndian.AppendUint64(nil, uint64(len(s))))
	c.writeString(s)
}

func (c *countingWriter) pad(a uint64) {
	if rem := alignUp(c.n, a) - c.n; rem > 0 {
		c.write(make([]byte, rem))
	}
}
