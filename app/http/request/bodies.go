package request

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"

	"github.com/gofiber/fiber/v2"
)

// Request bodies. fasthttp streams them (Config.StreamRequestBody, with its
// multipart pre-parse off): it reads the headers and at most 8 KB of the body
// before Quire's handlers run, so what is read, and how much, is decided here
// with the route and the caller known:
//
//   - readBodies (every request, before authentication) reads a body of up
//     to max_body_kb into memory, as fasthttp would, and leaves a larger one
//     unread on the connection;
//   - Limit (each route) refuses such a body with 413 unless the route
//     takes uploads and the caller is signed in, checking the declared size
//     against the upload cap before anything is read;
//   - the upload handler streams it to a file under the cap (ReadUpload).
//
// A body left unread closes the connection after the answer: its bytes would
// otherwise be taken for the next

// pendingBody is a body over max_body_kb that has not been read yet.
type pendingBody struct {
	r    io.Reader
	size int  // the declared Content-Length; -1 when chunked
	done bool // read to its end: the connection can serve the next request
}

// pendingBodyLocal is where Read leaves a body it did not read.
var pendingBodyLocal = local[*pendingBody]{"pendingBody"}

func pendingBodyOf(c *fiber.Ctx) *pendingBody { return pendingBodyLocal.get(c) }

// Bodies decides how much of each request body is read, and when (above).
type Bodies struct {
	MaxBodyKB   int        // what any request may send (max_body_kb)
	MaxUploadMB func() int // the upload cap now (an admin setting)
}

// Read reads small bodies and marks large ones as pending (above).
func (bs *Bodies) Read(c *fiber.Ctx) error {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return c.Next()
	}
	if ce := c.Get(fiber.HeaderContentEncoding); ce != "" && ce != "identity" {
		// Fiber would inflate it in full on the first read: a 1 MB gzip of zeros is a gigabyte.
		c.Context().SetConnectionClose()
		return Errorf(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send the request body uncompressed (Content-Encoding %q is not accepted)", ce)
	}
	limit := bs.MaxBodyKB << 10
	b := &pendingBody{r: stream, size: c.Request().Header.ContentLength()}
	if b.size <= limit { // known to fit, or chunked (-1): read up to the limit
		buf, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
		if err != nil {
			c.Context().SetConnectionClose()
			return BadRequest("the request body could not be read: %v", err)
		}
		if len(buf) <= limit {
			c.Request().SetBody(buf) // all of it, in memory like any small body
			return c.Next()
		}
		b.r = io.MultiReader(bytes.NewReader(buf), stream) // a chunked body over the limit
	}
	pendingBodyLocal.set(c, b)
	err := c.Next()
	if !b.done {
		c.Context().SetConnectionClose()
	}
	return err
}

// uploadLimits are the upload cap for the file and for the whole multipart
// body around it (field names, boundaries and small fields).
func (bs *Bodies) uploadLimits() (file, body int64) {
	file = int64(bs.MaxUploadMB()) << 20
	return file, file + 1<<20
}

// Limit refuses a body over max_body_kb before anything of it is read,
// unless the route takes uploads and the caller is signed in; an upload over
// the cap by its declared size is refused the same way.
func (bs *Bodies) Limit(upload bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b := pendingBodyOf(c)
		if b == nil {
			return c.Next()
		}
		if !upload || Identity(c) == nil {
			return TooLarge("request body is over %d KB", bs.MaxBodyKB)
		}
		if _, max := bs.uploadLimits(); int64(b.size) > max {
			return TooLarge("the file is larger than the %d MB upload limit", bs.MaxUploadMB())
		}
		return c.Next()
	}
}

var errBodyTooLarge = errors.New("request body too large")

// cappedBody reads a pending body up to max bytes (errBodyTooLarge beyond),
// noting when it reached the end.
type cappedBody struct {
	b      *pendingBody
	n, max int64
}

func (r *cappedBody) Read(p []byte) (int, error) {
	if r.n > r.max {
		return 0, errBodyTooLarge
	}
	if rem := r.max + 1 - r.n; int64(len(p)) > rem {
		p = p[:rem] // one byte past max tells "at the limit" from "over it"
	}
	n, err := r.b.r.Read(p)
	r.n += int64(n)
	if err == io.EOF {
		r.b.done = true
	}
	if r.n > r.max {
		return n, errBodyTooLarge
	}
	return n, err
}

// Upload is a multipart upload whose file was streamed to a temporary file
// next to where it will be kept.
type Upload struct {
	File     *os.File
	Size     int64
	SHA256   string
	Filename string
	Fields   map[string][]string
}

// maxUploadField bounds each non-file field of an upload (name, knowledge_base_ids).
const maxUploadField = 64 << 10

// ReadUpload reads a multipart/form-data body with exactly one file in the
// field "file", streaming it to a temporary file in dir: memory stays bounded
// whatever the size, and the file may not exceed the upload cap.
func (bs *Bodies) ReadUpload(c *fiber.Ctx, dir string) (*Upload, error) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return nil, Errorf(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send the file as multipart/form-data in a field named \"file\"")
	}
	maxFile, maxBody := bs.uploadLimits()
	var body io.Reader
	if b := pendingBodyOf(c); b != nil {
		body = &cappedBody{b: b, max: maxBody}
	} else {
		body = bytes.NewReader(c.Body()) // small enough to have been read already
	}
	up := &Upload{Fields: map[string][]string{}}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			up.Discard()
			return nil, bs.uploadError(err)
		}
		if err := up.readPart(p, dir, maxFile); err != nil {
			up.Discard()
			if _, ok := err.(*APIError); ok {
				return nil, err
			}
			return nil, bs.uploadError(err)
		}
	}
	if up.File == nil {
		return nil, Invalid("file", "send exactly one file in the field \"file\"")
	}
	_, _ = io.Copy(io.Discard, body) // the epilogue, so that the connection can be reused
	return up, nil
}

func (up *Upload) readPart(p *multipart.Part, dir string, maxFile int64) error {
	name := p.FormName()
	if p.FileName() == "" { // a plain field
		v, err := io.ReadAll(io.LimitReader(p, maxUploadField+1))
		if err != nil {
			return err
		}
		if len(v) > maxUploadField {
			return Invalid(name, "the field %q is over %d KB", name, maxUploadField>>10)
		}
		up.Fields[name] = append(up.Fields[name], string(v))
		return nil
	}
	if name != "file" {
		_, err := io.Copy(io.Discard, p) // files in other fields are not kept
		return err
	}
	if up.File != nil {
		return Invalid("file", "send exactly one file in the field \"file\"")
	}
	up.Filename = p.FileName()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return err
	}
	up.File = f
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, maxFile+1))
	if err != nil {
		return err
	}
	if n > maxFile {
		return TooLarge("%s is over the %d MB upload limit", up.Filename, maxFile>>20)
	}
	up.Size, up.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return nil
}

// uploadError explains a body that could not be read as multipart.
func (bs *Bodies) uploadError(err error) error {
	if errors.Is(err, errBodyTooLarge) {
		return TooLarge("the upload is larger than the %d MB upload limit", bs.MaxUploadMB())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return BadRequest("the upload ended before its multipart body was complete")
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("store the upload: %w", err) // our disk, not the client's body
	}
	return BadRequest("the multipart body is malformed: %v", err)
}

// Field is the first value of an upload's form field.
func (up *Upload) Field(name string) string {
	if v := up.Fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Discard closes and removes the temporary file (a no-op removal once
// knowledge.Add has moved it into place).
func (up *Upload) Discard() {
	if up.File != nil {
		up.File.Close()
		os.Remove(up.File.Name())
		up.File = nil
	}
}
