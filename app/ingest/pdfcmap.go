package ingest

import (
	"io"
	"slices"
	"strings"
	"unicode/utf16"
)

// toUnicode is a parsed ToUnicode CMap (PDF 32000 §9.10.3). We parse these
// ourselves rather than through the PDF library, whose CMap reader runs its
// content lexer, which never returns on a CMap that ends inside a hex
// string; a font is enough to trigger it, on every page that uses it.
type toUnicode struct {
	lens   []int             // code lengths in bytes declared by codespace ranges
	chars  map[uint64]string // (length<<32 | code) → text
	ranges []cmapRange
}

type cmapRange struct {
	n      int // code length in bytes
	lo, hi uint32
	dst    []uint16 // UTF-16 of the first code's text; the last unit counts up
	arr    []string // or one text per code
}

const maxCMapEntries = 1 << 16

func codeKey(n int, code uint32) uint64 { return uint64(n)<<32 | uint64(code) }

func bytesToCode(s string) uint32 {
	var c uint32
	for i := 0; i < len(s) && i < 4; i++ {
		c = c<<8 | uint32(s[i])
	}
	return c
}

// utf16Text decodes the UTF-16BE destination strings of a CMap.
func utf16Units(s string) []uint16 {
	u := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		u = append(u, uint16(s[i])<<8|uint16(s[i+1]))
	}
	return u
}

func parseToUnicode(r io.Reader) *toUnicode {
	cm := &toUnicode{chars: map[uint64]string{}}
	interpret(r, func(op string, args []operand) {
		switch op {
		case "endcodespacerange":
			for i := 0; i+1 < len(args); i += 2 {
				if n := len(args[i].str); n >= 1 && n <= 4 && !slices.Contains(cm.lens, n) {
					cm.lens = append(cm.lens, n)
				}
			}
		case "endbfchar":
			for i := 0; i+1 < len(args) && len(cm.chars) < maxCMapEntries; i += 2 {
				src := args[i].str
				if len(src) >= 1 && len(src) <= 4 {
					cm.chars[codeKey(len(src), bytesToCode(src))] = string(utf16.Decode(utf16Units(args[i+1].str)))
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(args) && len(cm.ranges) < maxCMapEntries; i += 3 {
				lo, hi, dst := args[i].str, args[i+1].str, args[i+2]
				if len(lo) < 1 || len(lo) > 4 || len(hi) != len(lo) {
					continue
				}
				rg := cmapRange{n: len(lo), lo: bytesToCode(lo), hi: bytesToCode(hi)}
				if rg.hi < rg.lo {
					continue
				}
				switch dst.kind {
				case 's':
					rg.dst = utf16Units(dst.str)
				case '[':
					for _, d := range dst.arr {
						rg.arr = append(rg.arr, string(utf16.Decode(utf16Units(d.str))))
					}
				default:
					continue
				}
				cm.ranges = append(cm.ranges, rg)
			}
		}
	})
	if len(cm.chars) == 0 && len(cm.ranges) == 0 {
		return nil
	}
	if len(cm.lens) == 0 { // no codespace: infer lengths from the mappings
		for k := range cm.chars {
			if n := int(k >> 32); !slices.Contains(cm.lens, n) {
				cm.lens = append(cm.lens, n)
			}
		}
		for _, rg := range cm.ranges {
			if !slices.Contains(cm.lens, rg.n) {
				cm.lens = append(cm.lens, rg.n)
			}
		}
	}
	slices.Sort(cm.lens)
	return cm
}

func (cm *toUnicode) lookup(n int, code uint32) (string, bool) {
	if s, ok := cm.chars[codeKey(n, code)]; ok {
		return s, true
	}
	for _, rg := range cm.ranges {
		if rg.n != n || code < rg.lo || code > rg.hi {
			continue
		}
		off := code - rg.lo
		if rg.arr != nil {
			if int(off) < len(rg.arr) {
				return rg.arr[off], true
			}
			return "", false
		}
		if len(rg.dst) == 0 {
			return "", false
		}
		u := slices.Clone(rg.dst)
		u[len(u)-1] += uint16(off)
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// Decode maps a shown string to text. Each code takes the shortest length
// that has a mapping (codespace ranges rarely overlap in practice); codes
// without one are dropped, as they have no known meaning.
func (cm *toUnicode) Decode(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); {
		step := cm.lens[0]
		for _, n := range cm.lens {
			if i+n > len(raw) {
				break
			}
			if s, ok := cm.lookup(n, bytesToCode(raw[i:i+n])); ok {
				b.WriteString(s)
				step = n
				break
			}
		}
		i += step
	}
	return b.String()
}

// latin1 decodes bytes one to one, the fallback when a font's encoding is
// unknown: better than invalid UTF-8.
type latin1 struct{}

func (latin1) Decode(raw string) string {
	r := make([]rune, len(raw))
	for i := 0; i < len(raw); i++ {
		r[i] = rune(raw[i])
	}
	return string(r)
}
