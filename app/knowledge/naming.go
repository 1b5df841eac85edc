package knowledge

import (
	"cmp"
	"io"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
)

// titleScan is how much of a page is read for its title: the head of real
// pages can hold hundreds of KB of inline scripts and styles before it.
const titleScan = 1 << 20

// pageTitle names a fetched web page: its <title>, else its og:title or
// twitter:title, decoded from the page's charset (contentType, a <meta>
// or the bytes tell which) and cleaned for display (see clipName); "" when
// the first titleScan bytes have neither. The <title> of an inline SVG
// (an icon's tooltip) is not the page's.
func pageTitle(r io.ReaderAt, contentType string) string {
	var body io.Reader = io.NewSectionReader(r, 0, titleScan)
	if dec, err := charset.NewReader(body, contentType); err == nil {
		body = dec
	}
	z := html.NewTokenizer(body)
	meta, svg := "", 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return meta
		case html.EndTagToken:
			if name, _ := z.TagName(); atom.Lookup(name) == atom.Svg && svg > 0 {
				svg--
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Svg:
				if tt == html.StartTagToken {
					svg++
				}
			case atom.Title:
				if svg == 0 && tt == html.StartTagToken && z.Next() == html.TextToken {
					if t := clipName(string(z.Text())); t != "" {
						return t
					}
				}
			case atom.Meta:
				if meta == "" && hasAttr {
					meta = metaTitle(z)
				}
			}
		}
	}
}

// metaTitle is the content of an og:title or twitter:title <meta>, cleaned.
func metaTitle(z *html.Tokenizer) string {
	var key, content string
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "property", "name":
			key = strings.ToLower(string(v))
		case "content":
			content = string(v)
		}
		if !more {
			break
		}
	}
	if key != "og:title" && key != "twitter:title" {
		return ""
	}
	return clipName(content)
}

// urlName names a page without a title after its address: host and path,
// decoded so that /Über%20uns reads "Über uns", without the scheme.
func urlName(u *url.URL) string {
	return clipName(u.Host + strings.TrimSuffix(cmp.Or(u.Path, "/"), "/"))
}

// cleanName makes a name safe to show on one line: control and format
// characters (including bidirectional overrides and zero-width marks, which
// can make a name read as another) are dropped, and so are invalid UTF-8 and
// U+FFFD (what HTML makes of a NUL); whitespace runs become one space.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// clipName is cleanName bounded to maxName characters, cut at a word when
// one ends in the last fifth, with "…" to say so.
func clipName(s string) string {
	s = cleanName(s)
	if utf8.RuneCountInString(s) <= maxName {
		return s
	}
	r := []rune(s)[:maxName-1]
	cut := len(r)
	for i := len(r) - 1; i > len(r)*4/5; i-- {
		if r[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimSpace(string(r[:cut])) + "…"
}
