package ingest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"path"
	"slices"
	"strings"

	"quire/app/units"
)

// safeZip opens OOXML containers with zip-bomb protection in three layers:
// the entry count and declared sizes are checked up front, entries with a
// suspicious compression ratio are refused, and every byte actually inflated
// is counted against MaxUncompressed (archive/zip additionally fails an
// entry that inflates past its declared size).
type safeZip struct {
	kind   Kind
	lim    Limits
	parts  map[string]*zip.File // lower-cased part name → entry
	budget int64                // bytes left to inflate
}

// ratioFloor is the entry size under which the ratio is not checked: small
// entries of repetitive XML legitimately compress very well.
const ratioFloor = 1 << 20

func openZip(kind Kind, r io.ReaderAt, size int64, lim Limits) (*safeZip, error) {
	magic := make([]byte, len(oleMagic))
	if n, _ := r.ReadAt(magic, 0); n == len(magic) && bytes.Equal(magic, oleMagic) {
		return nil, encrypted(nil) // Office wraps password-protected files in OLE
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, damaged(kind, err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, tooLarge("the %s has more than %s parts inside it", kind.label(), humanInt(int64(lim.MaxEntries)))
	}
	z := &safeZip{kind: kind, lim: lim, parts: make(map[string]*zip.File, len(zr.File)), budget: lim.MaxUncompressed}
	var total uint64
	for _, f := range zr.File {
		if err := z.checkEntry(f); err != nil {
			return nil, err
		}
		total += f.UncompressedSize64
		z.parts[strings.ToLower(strings.TrimPrefix(f.Name, "/"))] = f
	}
	if total > uint64(lim.MaxUncompressed) {
		return nil, z.tooBig()
	}
	return z, nil
}

func (z *safeZip) checkEntry(f *zip.File) error {
	if f.Flags&0x1 != 0 {
		return encrypted(nil)
	}
	if f.UncompressedSize64 > uint64(z.lim.MaxUncompressed) {
		return z.tooBig()
	}
	if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(z.lim.MaxRatio) {
		return tooLarge("the %s is a suspected zip bomb: a part inside it expands more than %d times", z.kind.label(), z.lim.MaxRatio)
	}
	return nil
}

func (z *safeZip) tooBig() error {
	return tooLarge("the %s is too large: its contents expand to more than %s", z.kind.label(), units.Bytes(z.lim.MaxUncompressed))
}

// file returns the entry for a part name (case-insensitive, as OPC requires).
func (z *safeZip) file(name string) *zip.File {
	return z.parts[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

// open returns a reader for a part whose reads count against the budget.
func (z *safeZip) open(name string) (io.ReadCloser, error) {
	f := z.file(name)
	if f == nil {
		return nil, damaged(z.kind, &missingPartError{name})
	}
	rc, err := f.Open()
	if err != nil {
		return nil, damaged(z.kind, err)
	}
	return &budgetReader{rc: rc, z: z}, nil
}

type missingPartError struct{ name string }

func (e *missingPartError) Error() string { return "missing part " + e.name }

type budgetReader struct {
	rc io.ReadCloser
	z  *safeZip
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.z.budget <= 0 {
		return 0, b.z.tooBig()
	}
	if int64(len(p)) > b.z.budget {
		p = p[:b.z.budget]
	}
	n, err := b.rc.Read(p)
	b.z.budget -= int64(n)
	return n, err
}

func (b *budgetReader) Close() error { return b.rc.Close() }

// resolvePart resolves a relationship target against the part that owns the
// relationship, e.g. ("ppt/presentation.xml", "slides/slide1.xml") →
// "ppt/slides/slide1.xml". Absolute targets start at the package root.
func resolvePart(source, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Clean(path.Join(path.Dir(source), target)), "/")
}

// relsPath is the relationships part of a part: a/b.xml → a/_rels/b.xml.rels.
func relsPath(part string) string {
	dir, file := path.Split(part)
	return dir + "_rels/" + file + ".rels"
}

// rel is one OPC relationship.
type rel struct{ Type, Target string }

// rels reads the relationships of part ("" for the package root) and
// returns them by Id with targets resolved to part names. A missing
// relationships part is not an error: it just has no relationships.
func (z *safeZip) rels(part string) (map[string]rel, error) {
	name := "_rels/.rels"
	if part != "" {
		name = relsPath(part)
	}
	out := map[string]rel{}
	if z.file(name) == nil {
		return out, nil
	}
	rc, err := z.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, damaged(z.kind, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" || attr(se, "TargetMode") == "External" {
			continue
		}
		out[attr(se, "Id")] = rel{Type: attr(se, "Type"), Target: resolvePart(part, attr(se, "Target"))}
	}
}

// mainPart finds the package's main document part via the root
// relationships, falling back to the conventional name.
func (z *safeZip) mainPart(fallback string) (string, error) {
	rs, err := z.rels("")
	if err != nil {
		return "", err
	}
	for _, id := range sortedKeys(rs) {
		if r := rs[id]; strings.HasSuffix(r.Type, "/officeDocument") && z.file(r.Target) != nil {
			return r.Target, nil
		}
	}
	return fallback, nil
}

// coreTitle returns dc:title from docProps/core.xml, or "".
func (z *safeZip) coreTitle() string {
	if z.file("docProps/core.xml") == nil {
		return ""
	}
	rc, err := z.open("docProps/core.xml")
	if err != nil {
		return ""
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, 1<<20))
	in := false
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			in = t.Name.Local == "title"
		case xml.CharData:
			if in {
				b.Write(t)
			}
		case xml.EndElement:
			if in {
				return oneLine(b.String())
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
