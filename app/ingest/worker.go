package ingest

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"quire/app/units"
)

// The parse worker. Some inputs make third-party parsers die with Go fatal
// errors that recover cannot catch (a PDF object stream that contains itself
// overflows the stack; an absurd /Size or predictor width is an allocation of
// hundreds of GB), and others make them loop for hours without checking a
// context (goldmark on some Markdown). In the server process either one is an
// outage. So Detect and Parse of stored documents run in a child process: the
// server's own binary, re-executed with workerEnv set, under an address-space
// limit, with a deadline after which the parent kills its process group, and
// with a cap on the output the parent reads. A worker serves one document and
// exits, so nothing a hostile file did survives it.
//
// Protocol: the document is the child's file descriptor 3 (opened read-only
// by the parent; the child needs no access to the data dir). On stdin the
// parent writes one frame, a workerRequest; on stdout the child answers with
// a frame holding the detected kind, then one with the result. A frame is a
// 4-byte big-endian length and that many bytes of JSON. The parent keeps
// stdin open while it waits: the child exits when it reads EOF there, so a
// worker never outlives a parent that died.

// workerEnv marks a process started as a parse worker. The value is not "1"
// so that an operator's stray QUIRE_* variable cannot turn a server into one.
const (
	workerEnv   = "QUIRE_PARSE_WORKER"
	workerMagic = "v1"
)

// maxRequestFrame bounds the request a worker reads: it is tiny.
const maxRequestFrame = 64 << 10

// workerGrace is the time a worker gets after lim.Timeout to report its own
// timeout (Parse gives up in the worker too) before it is killed.
func workerGrace(lim Limits) time.Duration {
	return min(5*time.Second, max(lim.Timeout/4, 100*time.Millisecond))
}

// Exit codes of the worker itself (Go's fatal errors and panics exit 2).
const (
	exitProtocol   = 3 // the request could not be read or the answer written
	exitParentGone = 4 // stdin closed before the answer: nobody is waiting
)

// RunWorkerIfRequested turns this process into a parse worker when it was
// started as one, and never returns then; otherwise it returns at once. The
// binary that Worker starts must call it first thing in main (and test
// binaries in TestMain: there os.Executable is the test binary).
func RunWorkerIfRequested() {
	if os.Getenv(workerEnv) != workerMagic {
		return
	}
	os.Exit(serveWorker(os.Stdin, os.Stdout, os.NewFile(3, "document")))
}

// Worker runs Detect and Parse out of process. The zero value runs the
// current executable.
type Worker struct {
	// Path is the executable to start; it must call RunWorkerIfRequested
	// first. Empty means os.Executable().
	Path string
}

type workerRequest struct {
	Filename string `json:"filename"`
	Kind     Kind   `json:"kind,omitempty"` // empty: Detect first
	Limits   Limits `json:"limits"`
}

// workerFrame is one answer frame: Kind first, then Parsed or Error.
type workerFrame struct {
	Kind   Kind         `json:"kind,omitempty"`
	Parsed *Parsed      `json:"parsed,omitempty"`
	Error  *workerError `json:"error,omitempty"`
}

type workerError struct {
	Class string `json:"class"`
	Msg   string `json:"msg"`
	Cause string `json:"cause,omitempty"`
}

var classNames = map[error]string{
	ErrUnsupported: "unsupported", ErrEncrypted: "encrypted", ErrTooLarge: "too_large",
	ErrNoText: "no_text", ErrDamaged: "damaged", ErrTimeout: "timeout",
}

func toWire(err error) *workerError {
	var e *Error
	if !errors.As(err, &e) {
		e = newError(ErrDamaged, err, "the file could not be read (%v)", err)
	}
	w := &workerError{Class: classNames[e.Class], Msg: e.Msg}
	if e.Cause != nil {
		w.Cause = e.Cause.Error()
	}
	return w
}

func (w *workerError) toError() error {
	class := ErrDamaged
	for c, name := range classNames {
		if name == w.Class {
			class = c
		}
	}
	var cause error
	if w.Cause != "" {
		cause = errors.New(w.Cause)
	}
	return &Error{Class: class, Msg: w.Msg, Cause: cause}
}

// maxOutput is how many bytes of answer the parent reads: the text budget
// with room for JSON escaping and headings repeated per section.
func maxOutput(lim Limits) int64 { return 3*lim.MaxTextBytes + 1<<20 }

// Parse detects the kind of f (unless kind is given) and parses it in a new
// worker process. Every problem with the file, including a worker that runs
// out of memory, crashes or overruns lim.Timeout, is an *Error with a message
// for people (that the worker died is deterministic for the file, so callers
// can treat it like any parse error). Other errors are the machine's (the
// worker could not start, or was killed by someone else) and worth a retry;
// a cancelled ctx returns ctx's error.
func (w *Worker) Parse(ctx context.Context, f *os.File, filename string, kind Kind, lim Limits) (Kind, *Parsed, error) {
	lim = lim.withDefaults()
	if os.Getenv(workerEnv) != "" {
		// A binary that does not call RunWorkerIfRequested first would run
		// its normal main as the worker, and that one would start workers
		// of its own: refuse instead of recursing.
		return "", nil, errors.New("ingest: this process was started as a parse worker but did not call RunWorkerIfRequested")
	}
	exe := w.Path
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", nil, fmt.Errorf("find the parse worker executable: %w", err)
		}
	}
	// A temp dir of its own (excelize spills big sheets to disk), removed
	// even when the worker is killed before it could clean up.
	tmp, err := os.MkdirTemp("", "quire-parse-")
	if err != nil {
		return "", nil, fmt.Errorf("parse worker temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	runCtx, cancel := context.WithTimeoutCause(ctx, lim.Timeout+workerGrace(lim), errParseTimeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, exe)
	// No inherited environment: secrets in it are none of a parser's business.
	cmd.Env = []string{workerEnv + "=" + workerMagic, "TMPDIR=" + tmp}
	cmd.Dir = tmp
	cmd.ExtraFiles = []*os.File{f}
	stderr := &headBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	sandbox(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start the parse worker: %w", err)
	}
	req, _ := json.Marshal(workerRequest{Filename: filename, Kind: kind, Limits: lim})
	_ = writeFrame(stdin, req) // a worker that died already is diagnosed below

	var res workerFrame
	budget := &budgetedReader{r: bufio.NewReaderSize(stdout, 64<<10), left: maxOutput(lim)}
	for res.Parsed == nil && res.Error == nil {
		var fr workerFrame
		if err := readFrame(budget, budget.left, &fr); err != nil {
			budget.over = budget.over || errors.Is(err, errFrameTooLarge)
			break
		}
		if fr.Kind != "" {
			kind = fr.Kind
		}
		res.Parsed, res.Error = fr.Parsed, fr.Error
	}
	if budget.over {
		cancel() // stop a worker that keeps writing
	}
	stdin.Close()
	waitErr := cmd.Wait()

	switch {
	case res.Error != nil:
		return kind, nil, res.Error.toError()
	case res.Parsed != nil:
		return kind, res.Parsed, nil
	case budget.over:
		return kind, nil, tooLarge("the %s produced more than %s of text and structure; split it into smaller files", kind.label(), units.Bytes(maxOutput(lim)))
	case context.Cause(runCtx) == errParseTimeout && ctx.Err() == nil:
		return kind, nil, timeoutError(kind, lim)
	case ctx.Err() != nil:
		return kind, nil, ctx.Err()
	}
	return kind, nil, workerDied(kind, lim, waitErr, stderr.String())
}

// workerDied explains a worker that exited without an answer, from what the
// Go runtime printed on its way out.
func workerDied(kind Kind, lim Limits, waitErr error, stderr string) error {
	cause := fmt.Errorf("parse worker: %v: %s%s", waitErr, firstLine(stderr), crashSite(stderr))
	label := kind.label()
	switch {
	case strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory"):
		return newError(ErrTooLarge, cause, "the %s could not be read: the parser ran out of memory (its limit is %s); the file may be damaged or built to exhaust memory",
			label, units.Bytes(lim.MaxMemory))
	case strings.Contains(stderr, "stack overflow") || strings.Contains(stderr, "stack exceeds"):
		return newError(ErrDamaged, cause, "the %s could not be read: the parser crashed because the file's structure is nested too deeply or refers to itself; the file is damaged", label)
	case strings.Contains(stderr, "fatal error:") || strings.Contains(stderr, "panic:"):
		return newError(ErrDamaged, cause, "the %s could not be read: the parser crashed (%s); the file may be damaged", label, firstLine(stderr))
	}
	// Killed by someone else (the kernel's OOM killer, an operator) or an
	// exit we cannot explain: not the file's fault as far as we know.
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) && !ee.Exited() {
		return fmt.Errorf("the parse worker was killed from outside (%v), perhaps because the machine ran out of memory: %w", waitErr, cause)
	}
	return fmt.Errorf("the parse worker exited without an answer: %w", cause)
}

func timeoutError(kind Kind, lim Limits) error {
	return newError(ErrTimeout, context.DeadlineExceeded,
		"reading the %s took longer than %v; it may be too large or too complex, try splitting it", kind.label(), lim.Timeout)
}

// firstLine is the first runtime message in a dying worker's stderr, e.g.
// "fatal error: runtime: out of memory".
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") {
			return strings.TrimSpace(line)
		}
	}
	return "it exited unexpectedly"
}

// crashSite names the first non-runtime function in the worker's stack
// dump (" in github.com/ledongthuc/pdf.readXrefStream"), for the logs.
func crashSite(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		i := strings.LastIndex(line, "(")
		if i <= 0 {
			continue
		}
		if fn := line[:i]; !strings.ContainsAny(fn[:1], " \t") && strings.Contains(fn, ".") &&
			!strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "panic") {
			return " in " + fn
		}
	}
	return ""
}

// serveWorker is the child: one request, one answer. Limits apply before the
// document is looked at.
func serveWorker(in io.Reader, out io.Writer, doc *os.File) int {
	var req workerRequest
	if err := readFrame(in, maxRequestFrame, &req); err != nil {
		fmt.Fprintln(os.Stderr, "quire parse worker: reading the request:", err)
		return exitProtocol
	}
	lim := req.Limits.withDefaults()
	if err := limitSelf(lim); err != nil {
		fmt.Fprintln(os.Stderr, "quire parse worker: limits:", err)
		return exitProtocol
	}
	// Leftover stack and heap headroom: a runaway recursion dies at once as
	// a stack overflow, and the GC works harder before the hard limit.
	debug.SetMaxStack(32 << 20)
	debug.SetMemoryLimit(lim.MaxMemory / 4 * 3)
	go func() {
		_, _ = io.Copy(io.Discard, in)
		os.Exit(exitParentGone)
	}()

	answer := func(fr workerFrame) bool {
		b, err := json.Marshal(fr)
		if err == nil {
			err = writeFrame(out, b)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "quire parse worker: writing the answer:", err)
		}
		return err == nil
	}
	st, err := doc.Stat()
	if err != nil {
		answer(workerFrame{Error: toWire(newError(ErrDamaged, err, "the file could not be read"))})
		return exitProtocol
	}
	kind := req.Kind
	if kind == "" {
		if kind, err = detectSafely(doc, st.Size(), req.Filename); err != nil {
			return exitIf(!answer(workerFrame{Error: toWire(err)}))
		}
	}
	if !answer(workerFrame{Kind: kind}) {
		return exitProtocol
	}
	p, err := Parse(context.Background(), kind, doc, st.Size(), lim)
	if err != nil {
		return exitIf(!answer(workerFrame{Error: toWire(err)}))
	}
	return exitIf(!answer(workerFrame{Parsed: p}))
}

func exitIf(failed bool) int {
	if failed {
		return exitProtocol
	}
	return 0
}

// detectSafely is Detect with panics turned into ErrDamaged, like Parse does.
func detectSafely(r io.ReaderAt, size int64, filename string) (k Kind, err error) {
	defer func() {
		if v := recover(); v != nil {
			k, err = "", newError(ErrDamaged, fmt.Errorf("detect panic: %v\n%s", v, debug.Stack()), "the file could not be read; it may be damaged (%v)", v)
		}
	}()
	return Detect(r, size, filename)
}

func writeFrame(w io.Writer, b []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

var errFrameTooLarge = errors.New("frame too large")

// readFrame reads one frame of at most max bytes into v; the length is
// checked before anything is allocated.
func readFrame(r io.Reader, max int64, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := int64(binary.BigEndian.Uint32(n[:]))
	if size > max {
		return fmt.Errorf("%w: %d bytes, more than %d", errFrameTooLarge, size, max)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// budgetedReader caps what the parent reads from a worker in all.
type budgetedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (b *budgetedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.over = true
		return 0, errors.New("parse worker output over budget")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// headBuffer keeps the first max bytes written: the start of a dying
// worker's stderr says why it died (the runtime's message, then the
// crashing goroutine); a flood of output must not grow the parent.
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.b = append(h.b, p[:min(len(p), h.max-len(h.b))]...)
	return len(p), nil
}

func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}
