package ingest

import (
	"bufio"
	"io"
	"math"
	"strconv"
)

// A content-stream lexer (PDF 32000 §7.2, §8.9.7). We do not use
// pdf.Interpret because its lexer never returns when a stream ends inside a
// hex string (a 3-byte stream "0<0" hangs it), and because it has no notion
// of inline images, whose binary data it would try to read as operators.
// This one is small, always makes progress, and bounds nesting and operand
// counts.

// operand is a content-stream operand: a number, a string (literal or hex,
// as raw bytes), a name, an array, or something we ignore (dict, bool, null).
type operand struct {
	kind byte // 'n' number, 's' string, '/' name, '[' array, '?' other
	num  float64
	str  string
	arr  []operand
}

const (
	maxOperands   = 4096 // operands kept before an operator; extra ones are dropped
	maxArrayLen   = 1 << 16
	maxLexerDepth = 32
)

type contentLexer struct {
	r *bufio.Reader
}

// interpret calls do for every operator in the stream with its operands.
// Read errors (truncated or corrupt compressed data) end the stream quietly:
// the text read so far is still worth keeping.
func interpret(r io.Reader, do func(op string, args []operand)) {
	lx := &contentLexer{r: bufio.NewReaderSize(r, 32<<10)}
	var args []operand
	for {
		c, ok := lx.skipSpace()
		if !ok {
			return
		}
		if isRegular(c) && !isNumberStart(c) {
			kw := lx.regular(c)
			switch kw {
			case "true", "false", "null":
				args = appendOperand(args, operand{kind: '?'})
			case "BI":
				lx.skipInlineImage()
				args = args[:0]
			default:
				do(kw, args)
				args = args[:0]
			}
			continue
		}
		if v, ok := lx.object(c, 0); ok {
			args = appendOperand(args, v)
		}
	}
}

func appendOperand(args []operand, v operand) []operand {
	if len(args) >= maxOperands {
		return args
	}
	return append(args, v)
}

// object reads one operand starting with byte c; ok is false for stray
// delimiters, which are skipped.
func (lx *contentLexer) object(c byte, depth int) (operand, bool) {
	switch {
	case c == '(':
		return operand{kind: 's', str: lx.literal()}, true
	case c == '<':
		if next, err := lx.r.ReadByte(); err == nil {
			if next == '<' {
				lx.skipDict(depth)
				return operand{kind: '?'}, true
			}
			lx.r.UnreadByte()
		}
		return operand{kind: 's', str: lx.hex()}, true
	case c == '[':
		return lx.array(depth), true
	case c == '/':
		return operand{kind: '/', str: lx.name()}, true
	case isRegular(c):
		tok := lx.regular(c)
		if f, err := strconv.ParseFloat(tok, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return operand{kind: 'n', num: f}, true
		}
		return operand{kind: '?'}, true
	}
	return operand{}, false // ')', '>', ']', '{', '}'
}

func (lx *contentLexer) array(depth int) operand {
	arr := operand{kind: '['}
	for {
		c, ok := lx.skipSpace()
		if !ok || c == ']' {
			return arr
		}
		if depth >= maxLexerDepth {
			continue // too deep: drop contents until the brackets close
		}
		if v, ok := lx.object(c, depth+1); ok && len(arr.arr) < maxArrayLen {
			arr.arr = append(arr.arr, v)
		}
	}
}

// skipDict consumes a dictionary up to its closing ">>".
func (lx *contentLexer) skipDict(depth int) {
	for {
		c, ok := lx.skipSpace()
		if !ok {
			return
		}
		if c == '>' {
			if next, err := lx.r.ReadByte(); err != nil || next == '>' {
				return
			}
			lx.r.UnreadByte()
			continue
		}
		if depth < maxLexerDepth {
			lx.object(c, depth+1)
		}
	}
}

// skipSpace skips white space and comments and returns the next byte.
func (lx *contentLexer) skipSpace() (byte, bool) {
	for {
		c, err := lx.r.ReadByte()
		if err != nil {
			return 0, false
		}
		switch {
		case isWhite(c):
		case c == '%':
			for {
				c, err := lx.r.ReadByte()
				if err != nil {
					return 0, false
				}
				if c == '\n' || c == '\r' {
					break
				}
			}
		default:
			return c, true
		}
	}
}

// regular reads a run of regular characters starting with c.
func (lx *contentLexer) regular(c byte) string {
	buf := []byte{c}
	for len(buf) < 256 {
		c, err := lx.r.ReadByte()
		if err != nil {
			break
		}
		if !isRegular(c) {
			lx.r.UnreadByte()
			break
		}
		buf = append(buf, c)
	}
	return string(buf)
}

// literal reads a (string) after its opening parenthesis, with escapes and
// balanced nested parentheses. An unterminated string ends at EOF.
func (lx *contentLexer) literal() string {
	var buf []byte
	depth := 1
	for {
		c, err := lx.r.ReadByte()
		if err != nil {
			return string(buf)
		}
		switch c {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return string(buf)
			}
		case '\\':
			c, err = lx.r.ReadByte()
			if err != nil {
				return string(buf)
			}
			switch c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r': // line continuation
				if next, err := lx.r.ReadByte(); err == nil && next != '\n' {
					lx.r.UnreadByte()
				}
				continue
			case '\n':
				continue
			default:
				if c >= '0' && c <= '7' {
					v := int(c - '0')
					for range 2 {
						d, err := lx.r.ReadByte()
						if err != nil {
							break
						}
						if d < '0' || d > '7' {
							lx.r.UnreadByte()
							break
						}
						v = v*8 + int(d-'0')
					}
					c = byte(v)
				}
			}
		}
		buf = append(buf, c)
	}
}

// hex reads a <hex string> after its opening bracket; non-hex bytes are
// ignored and an odd final digit is padded with 0, as the spec says.
func (lx *contentLexer) hex() string {
	var buf []byte
	half, have := byte(0), false
	for {
		c, err := lx.r.ReadByte()
		if err != nil || c == '>' {
			break
		}
		v, ok := unhexByte(c)
		if !ok {
			continue
		}
		if have {
			buf = append(buf, half<<4|v)
		} else {
			half = v
		}
		have = !have
	}
	if have {
		buf = append(buf, half<<4)
	}
	return string(buf)
}

func unhexByte(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// name reads a /Name after its slash, decoding #xx escapes.
func (lx *contentLexer) name() string {
	raw := lx.regularOrEmpty()
	var buf []byte
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			hi, ok1 := unhexByte(raw[i+1])
			lo, ok2 := unhexByte(raw[i+2])
			if ok1 && ok2 {
				buf = append(buf, hi<<4|lo)
				i += 2
				continue
			}
		}
		buf = append(buf, raw[i])
	}
	return string(buf)
}

func (lx *contentLexer) regularOrEmpty() string {
	c, err := lx.r.ReadByte()
	if err != nil {
		return ""
	}
	if !isRegular(c) {
		lx.r.UnreadByte()
		return ""
	}
	return lx.regular(c)
}

// skipInlineImage skips "BI <dict> ID <binary data> EI". The data has no
// length we can trust without decoding it, so we look for "EI" between
// white space, as readers do.
func (lx *contentLexer) skipInlineImage() {
	for { // the image dictionary, up to the ID operator
		c, ok := lx.skipSpace()
		if !ok {
			return
		}
		if isRegular(c) && !isNumberStart(c) {
			if lx.regular(c) == "ID" {
				break
			}
			continue
		}
		lx.object(c, 0)
	}
	prev2, prev1 := byte(' '), byte(' ')
	for {
		c, err := lx.r.ReadByte()
		if err != nil {
			return
		}
		if prev2 == 'E' && prev1 == 'I' && isWhite(c) {
			return
		}
		// "EI" must itself follow white space; 1 is neither white nor 'E'.
		if c == 'E' && !isWhite(prev1) {
			c = 1
		}
		prev2, prev1 = prev1, c
	}
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isWhite(c) && !isDelimiter(c) }

func isNumberStart(c byte) bool { return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' }
