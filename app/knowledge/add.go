package knowledge

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"quire/app/fault"
	"quire/app/ingest"
	"quire/store"
)

// FetchPolicy is the administrator's settings for adding documents by URL,
// read on each call because they change at run time.
type FetchPolicy struct {
	MaxMB        int  // the upload cap; a fetched page is held to it too
	AllowPrivate bool // fetch addresses on this machine and private networks
	UserAgent    string
}

// Source is what a document is made from: an uploaded file or a web address.
type Source struct {
	// File is an upload already streamed to a temporary file in
	// StagingDir(workspace), with its size and SHA-256. Add moves it into
	// place when it keeps it; the caller removes it when Add fails.
	File     *os.File
	Filename string // the client's name for the file, for display only
	Size     int64
	SHA256   string
	// URL, when File is nil, is a web page or file (http or https) to fetch.
	URL string
}

// NewDocument is a request to add a document.
type NewDocument struct {
	Source
	// Name is the document's name; "" derives one: the file's name, the
	// page's <title>, or the address.
	Name string
	// KnowledgeBaseIDs are the knowledge bases it joins; the caller must see
	// each and be allowed to add documents to it.
	KnowledgeBaseIDs []string
	// Gate is the plan's check of one more document of size bytes. The limits
	// it returns are checked again in the insert's transaction, where two
	// uploads cannot both take the last place (Add then fails with
	// store.ErrDocumentLimit or store.ErrStorageLimit). It is a function
	// because a fetched page's size is known only once fetched. nil: no limits.
	Gate func(ctx context.Context, size int64) (store.DocumentLimits, error)
}

// staged is a document's content in a temporary file in its workspace's folder.
type staged struct {
	f      *os.File
	name   string // the file name Detect and the download use
	ctype  string // a fetched page's Content-Type, which may name its charset
	size   int64
	sha256 string
}

// Add stores a new document and queues its processing: one way in for
// uploads and web addresses. It checks the knowledge bases, the plan's
// limits and the content's type before anything is kept; a failure after
// the file was placed removes it again.
func (s *Service) Add(ctx context.Context, wsID string, v store.Viewer, in NewDocument) (*store.Document, error) {
	var u *url.URL
	if in.File == nil {
		var err error
		u, err = url.Parse(strings.TrimSpace(in.URL))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fault.Field("url", "url must be an http(s) address such as https://example.com/page")
		}
	}
	if err := s.checkTargets(ctx, wsID, v, in.KnowledgeBaseIDs); err != nil {
		return nil, err
	}
	src := staged{f: in.File, name: cleanFilename(in.Filename), size: in.Size, sha256: in.SHA256}
	if u != nil {
		fetched, err := s.fetch(ctx, wsID, u)
		if err != nil {
			return nil, err
		}
		defer func() { // unless it was placed
			fetched.f.Close()
			os.Remove(fetched.f.Name())
		}()
		src = *fetched
	}
	var lim store.DocumentLimits
	if in.Gate != nil {
		var err error
		if lim, err = in.Gate(ctx, src.size); err != nil {
			return nil, err
		}
	}
	kind, err := s.detect(src.f, src.size, src.name)
	if err != nil {
		msg, unsupported := detectMessage(err)
		switch {
		case u != nil:
			return nil, &fault.Error{Kind: fault.Unsupported, Message: fmt.Sprintf("%s: %s", u.Redacted(), msg), Err: err}
		case !unsupported:
			return nil, &fault.Error{Kind: fault.Invalid, Field: "file", Message: msg, Err: err}
		}
		// msg says what is supported when that helps (not after "save it as .docx").
		return nil, &fault.Error{Kind: fault.Unsupported, Err: err, Message: fmt.Sprintf("%s: %s", in.Filename, msg)}
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name != "":
	case u == nil:
		name = src.name
	case kind == ingest.KindHTML:
		name = cmp.Or(pageTitle(src.f, src.ctype), urlName(u))
	default:
		name = urlName(u)
	}
	if name, err = checkName(name); err != nil {
		return nil, err
	}

	docID := uuid.NewString()
	rel := wsID + "/" + docID
	if err := place(src.f, s.filePath(rel)); err != nil {
		return nil, err
	}
	nd := store.NewDocument{ID: docID, Name: name, OriginalFilename: src.name, MimeType: kind.MIME(), FileSize: src.size,
		SHA256: src.sha256, StoragePath: rel, UploadedBy: v.UserID, KnowledgeBaseIDs: in.KnowledgeBaseIDs, Limits: lim}
	if u != nil {
		nd.SourceURL = u.String()
	}
	d, _, err := s.st.CreateDocument(ctx, wsID, nd)
	if err != nil {
		os.Remove(s.filePath(rel)) // nothing refers to it
		return nil, err
	}
	s.cfg.Runner.Wake()
	return d, nil
}

// checkTargets checks the knowledge bases a new document should join: each
// must exist, be visible to v, and be one v manages.
func (s *Service) checkTargets(ctx context.Context, wsID string, v store.Viewer, ids []string) error {
	for _, id := range ids {
		kb, err := s.st.GetKnowledgeBase(ctx, wsID, v, id)
		if errors.Is(err, store.ErrNotFound) {
			return fault.Field("knowledge_base_ids", "no knowledge base %q that you can see in this workspace", id)
		}
		if err != nil {
			return err
		}
		if !MayManageBase(v, kb) {
			return fault.New(fault.Forbidden, "only the creator of %q or a workspace admin can add documents to it", kb.Name)
		}
	}
	return nil
}

// fetch downloads u into a temporary file in the workspace's folder, under
// the upload cap, through the guarded client.
func (s *Service) fetch(ctx context.Context, wsID string, u *url.URL) (*staged, error) {
	p := s.cfg.Fetch()
	maxBytes := int64(p.MaxMB) << 20
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", p.UserAgent)
	resp, err := fetchClient(p.AllowPrivate).Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return nil, fault.Field("url", "%s points to this machine or a private network; an administrator can allow such addresses in Settings", u.Host)
		}
		// One answer for refused, reset, timed out and unresolvable: telling them
		// apart would let a member port-scan hosts through the server.
		s.log.Debug("fetch failed", "url", u.Redacted(), "err", err)
		return nil, fault.Field("url", "could not fetch %s: the site could not be reached", u.Redacted())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fault.Field("url", "%s answered %s", u.Redacted(), resp.Status)
	}
	dir := s.StagingDir(wsID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".fetch-*")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, maxBytes+1))
	switch {
	case err != nil:
		err = fault.Field("url", "reading %s failed before the page was complete", u.Redacted())
	case n > maxBytes:
		err = fault.New(fault.TooLarge, "the page is larger than the %d MB limit", p.MaxMB)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	ctype := resp.Header.Get("Content-Type")
	return &staged{f: f, name: fetchedName(u, ctype), ctype: ctype, size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// detect is ingest.Detect with the size of a ZIP container's central
// directory checked first. Go's zip reader loads every directory entry
// before the caller can count them (a 29 MB archive of 400,000 empty
// entries costs it 88 MB), so the entries are counted here by walking the
// directory, without keeping any.
func (s *Service) detect(r io.ReaderAt, size int64, filename string) (ingest.Kind, error) {
	limit := cmp.Or(s.cfg.Limits.MaxEntries, ingest.DefaultLimits().MaxEntries)
	if n, ok := zipEntries(r, size, limit); ok && n > limit {
		return "", &refusal{fmt.Sprintf("the archive has more than %s entries", thousands(limit))}
	}
	return ingest.Detect(r, size, filename)
}

// refusal is a content check's failure that is not about the type.
type refusal struct{ msg string }

func (e *refusal) Error() string { return e.msg }

// detectMessage is the sentence for a detect failure and whether it is about
// the content's type (unsupported) rather than the content being damaged or too big.
func detectMessage(err error) (msg string, unsupported bool) {
	var ie *ingest.Error
	var rf *refusal
	switch {
	case errors.As(err, &rf):
		return rf.msg, false
	case errors.As(err, &ie):
		return ie.Msg, errors.Is(err, ingest.ErrUnsupported)
	}
	return err.Error(), true
}

// zipEntries counts the entries of a ZIP file's central directory, stopping
// past max, in constant memory. ok is false when r is not a ZIP file by the
// signature ingest.Detect goes by, or its directory is not found (Detect
// then decides what it is).
func zipEntries(r io.ReaderAt, size int64, max int) (n int, ok bool) {
	const eocdLen, cdHeaderLen = 22, 46
	var sig [4]byte
	if size < eocdLen {
		return 0, false
	}
	if _, err := r.ReadAt(sig[:], 0); err != nil || (string(sig[:]) != "PK\x03\x04" && string(sig[:]) != "PK\x05\x06") {
		return 0, false
	}
	tail := make([]byte, min(size, eocdLen+0xffff)) // the record, then a comment of up to 64 KB
	tailAt := size - int64(len(tail))
	if _, err := r.ReadAt(tail, tailAt); err != nil && err != io.EOF {
		return 0, false
	}
	i := bytes.LastIndex(tail[:len(tail)-eocdLen+4], []byte("PK\x05\x06"))
	if i < 0 {
		return 0, false
	}
	end := tail[i:]
	records := uint64(binary.LittleEndian.Uint16(end[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(end[12:]))
	dirOffset := uint64(binary.LittleEndian.Uint32(end[16:]))
	endAt := tailAt + int64(i)
	if records == 0xffff || dirSize == 0xffffffff || dirOffset == 0xffffffff {
		records, dirSize, dirOffset = zip64End(r, endAt, records, dirSize, dirOffset)
	}
	if records > uint64(max) {
		return int(min(records, uint64(max)+1)), true
	}
	// Go's reader trusts the declared count only modulo 65536 and reads
	// headers until they stop, from the offset it finds (possibly shifted
	// by data prepended to the archive): count the same way.
	start := int64(dirOffset)
	if base := endAt - int64(dirSize) - int64(dirOffset); base > 0 && isDirHeader(r, base+start) {
		start += base
	}
	if start < 0 || start >= size {
		return 0, false
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), 64<<10)
	var h [cdHeaderLen]byte
	for n <= max {
		if _, err := io.ReadFull(br, h[:]); err != nil || string(h[:4]) != "PK\x01\x02" {
			break
		}
		skip := int64(binary.LittleEndian.Uint16(h[28:])) + int64(binary.LittleEndian.Uint16(h[30:])) + int64(binary.LittleEndian.Uint16(h[32:]))
		if _, err := br.Discard(int(skip)); err != nil {
			break
		}
		n++
	}
	return n, true
}

// zip64End reads the ZIP64 end record that the classic one points to, if
// there is one; otherwise it keeps the classic values.
func zip64End(r io.ReaderAt, endAt int64, records, dirSize, dirOffset uint64) (uint64, uint64, uint64) {
	var loc [20]byte
	if endAt < int64(len(loc)) {
		return records, dirSize, dirOffset
	}
	if _, err := r.ReadAt(loc[:], endAt-int64(len(loc))); err != nil || string(loc[:4]) != "PK\x06\x07" {
		return records, dirSize, dirOffset
	}
	var rec [56]byte
	at := binary.LittleEndian.Uint64(loc[8:])
	if at > uint64(endAt) {
		return records, dirSize, dirOffset
	}
	if _, err := r.ReadAt(rec[:], int64(at)); err != nil || string(rec[:4]) != "PK\x06\x06" {
		return records, dirSize, dirOffset
	}
	return binary.LittleEndian.Uint64(rec[32:]), binary.LittleEndian.Uint64(rec[40:]), binary.LittleEndian.Uint64(rec[48:])
}

func isDirHeader(r io.ReaderAt, at int64) bool {
	var sig [4]byte
	_, err := r.ReadAt(sig[:], at)
	return err == nil && string(sig[:]) == "PK\x01\x02"
}

// maxName is the longest name a document may have, in characters.
const maxName = 200

// checkName checks the name of a document or knowledge base, cleaned of
// control characters and whitespace runs first (see cleanName).
func checkName(name string) (string, error) {
	name = cleanName(name)
	if name == "" {
		return "", fault.Field("name", "name must not be empty")
	}
	if utf8.RuneCountInString(name) > maxName {
		return "", fault.Field("name", "name must be at most %d characters", maxName)
	}
	return name, nil
}

// cleanFilename keeps the base name of a client's file name, for display only.
func cleanFilename(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		return "document"
	}
	if r := []rune(name); len(r) > maxName {
		name = string(r[:maxName])
	}
	return name
}

// thousands writes n with thousands separators, as ingest's messages do.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
