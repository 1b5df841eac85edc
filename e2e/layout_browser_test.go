package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// upload sends one file to the documents API as the browser's drop zone does.
func (in *instance) upload(ws, token, name, content, kb string) string {
	in.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.WriteField("knowledge_base_ids", kb)
	mw.Close()
	req, _ := http.NewRequest("POST", in.URL+"/api/workspaces/"+ws+"/documents", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct{ ID string }
	if resp.StatusCode != 202 || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		in.t.Fatalf("upload %s: %d", name, resp.StatusCode)
	}
	return doc.ID
}

// layoutFixture is a workspace with something on every page: long unbroken
// names (the usual way a page grows sideways), a chat with an answer, a
// document in a knowledge base, a public link, an invitation from another
// workspace, a team and a folder.
type layoutFixture struct {
	in                     *instance
	ws, chat, doc, kb, pub string
}

// long is the longest name the forms accept, without a space to break at.
var long = strings.Repeat("Verylongunbrokenname", 10)

func newLayoutFixture(t *testing.T) layoutFixture {
	in, _, token := startWithOllama(t)
	var ws, kbase, chat struct{ ID string }
	var pub struct{ URL string }
	in.api("POST", "/api/workspaces", token, map[string]string{"name": "Acme " + long[:60]}, &ws)
	in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", token, map[string]any{"name": "Handbook " + long[:80]}, &kbase)
	doc := in.upload(ws.ID, token, long[:120]+".md", "# Travel\n\nTrips are booked through the travel desk: "+strings.Repeat("https://intranet.example.com/travel/booking/", 4)+"\n", kbase.ID)
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", token, map[string]any{"name": long, "knowledge_base_ids": []string{kbase.ID}}, &chat)
	chatPath := "/api/workspaces/" + ws.ID + "/chats/" + chat.ID
	if code := in.api("POST", chatPath+"/messages", token, map[string]string{"content": "How are trips booked? " + long}, nil); code != 201 {
		t.Fatalf("ask: %d", code)
	}
	in.api("POST", chatPath+"/public", token, map[string]bool{"enabled": true}, &pub)
	in.api("POST", "/api/workspaces/"+ws.ID+"/teams", token, map[string]string{"name": long}, nil)
	in.api("POST", "/api/workspaces/"+ws.ID+"/folders", token, map[string]string{"name": long}, nil)
	var su struct{ Token string }
	in.api("POST", "/api/auth/signup", "", map[string]string{"email": "grace@example.com", "password": "compiler-1952", "name": "Grace"}, &su)
	var other struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Navy " + long[:40]}, &other)
	if code := in.api("POST", "/api/workspaces/"+other.ID+"/invitations", su.Token, map[string]string{"email": "ada@example.com", "role": "member"}, nil); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	return layoutFixture{in: in, ws: ws.ID, chat: chat.ID, doc: doc, kb: kbase.ID, pub: strings.TrimPrefix(pub.URL, in.URL)}
}

type layoutPage struct{ name, path string }

func (f layoutFixture) signedInPages() []layoutPage {
	w := "/w/" + f.ws
	return []layoutPage{
		{"workspace", w}, {"chats", w + "/chats"}, {"chat", w + "/c/" + f.chat},
		{"documents", w + "/documents"}, {"document", w + "/documents/" + f.doc},
		{"knowledge-bases", w + "/knowledge"}, {"knowledge-base", w + "/knowledge/" + f.kb},
		{"search", w + "/search?q=travel+booking"}, {"members", w + "/members"}, {"teams", w + "/teams"},
		{"folders", w + "/folders"}, {"usage", w + "/usage"}, {"billing", w + "/billing"},
		{"settings", w + "/settings"}, {"account", "/account"}, {"invitations", "/invitations"},
		{"shared", "/shared"}, {"new-workspace", "/workspaces/new"},
		{"admin-users", "/admin"}, {"admin-settings", "/admin/settings"}, {"admin-models", "/admin/models"},
		{"admin-jobs", "/admin/jobs"}, {"admin-outbox", "/admin/outbox"}, {"admin-backups", "/admin/backups"},
	}
}

func (f layoutFixture) anonymousPages() []layoutPage {
	return []layoutPage{{"login", "/login"}, {"signup", "/signup"}, {"reset", "/reset"}, {"public-chat", f.pub}}
}

// viewport sets the window's CSS size. Not "mobile" emulation: a mobile
// viewport zooms out to fit a too-wide page, which would hide the overflow
// this test looks for.
func viewport(w, h int64) chromedp.Action {
	return chromedp.EmulateViewport(w, h)
}

// darkMode emulates the system's colour preference, as theme.js and the CSS follow it.
func darkMode(dark bool) chromedp.Action {
	v := "light"
	if dark {
		v = "dark"
	}
	return emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}})
}

// overflow reports what makes the page wider than the window: the page's
// scroll width, and the visible elements that reach past the right edge
// without a scrolling box of their own around them (what a phone user cannot
// reach, or sees cut off).
const overflowJS = `(() => {
  const de = document.documentElement, out = [];
  const w = de.clientWidth;
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right <= w + 1 || scrolls(el)) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden') continue;
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' right=' + Math.round(r.right));
    if (out.length >= 5) break;
  }
  return {scroll: de.scrollWidth, inner: innerWidth, client: w, wide: out};
})()`

type overflowReport struct {
	Scroll, Inner, Client int
	Wide                  []string
}

// checkWidth fails when the page scrolls sideways at the current viewport.
func checkWidth(t *testing.T, ctx context.Context, p layoutPage) {
	t.Helper()
	var r overflowReport
	run(t, ctx, "measure "+p.name, chromedp.Evaluate(overflowJS, &r))
	// clientWidth leaves out a vertical scroll bar: a page as wide as the
	// window behind the bar still scrolls sideways.
	if r.Scroll > r.Client || r.Scroll > r.Inner || len(r.Wide) > 0 {
		t.Errorf("%s (%s) at %d px: page %d px wide, window %d px; past the edge: %v", p.name, p.path, r.Inner, r.Scroll, r.Client, r.Wide)
	}
}

// missingGlyphsJS lists the characters of the page's text that no installed
// font can draw: each is drawn on a canvas in its element's font and compared
// with a character no font has, which shows as the same empty box.
const missingGlyphsJS = `(() => {
  const c = document.createElement('canvas'); c.width = 48; c.height = 48;
  const g = c.getContext('2d', {willReadFrequently: true});
  const draw = (ch, fam) => { g.clearRect(0, 0, 48, 48); g.font = '28px ' + fam; g.fillText(ch, 6, 34); return g.getImageData(0, 0, 48, 48).data.join(); };
  const missing = new Set(), box = {};
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = w.nextNode());) {
    const fam = getComputedStyle(n.parentElement).fontFamily;
    box[fam] ??= draw('\u{10FFFD}', fam);
    for (const ch of n.data) if (ch > '\u007f' && !/\s/.test(ch) && draw(ch, fam) === box[fam]) missing.add(ch);
  }
  return [...missing];
})()`

func checkGlyphs(t *testing.T, ctx context.Context, p layoutPage) {
	t.Helper()
	var missing []string
	run(t, ctx, "glyphs "+p.name, chromedp.Evaluate(missingGlyphsJS, &missing))
	if len(missing) > 0 {
		t.Errorf("%s (%s) shows empty boxes for %q: no installed font has them", p.name, p.path, missing)
	}
}

// shots writes the page at this width in light and dark into $QUIRE_SCREENSHOTS.
func shots(t *testing.T, ctx context.Context, p layoutPage, width int) {
	dir := os.Getenv("QUIRE_SCREENSHOTS")
	if dir == "" {
		return
	}
	os.MkdirAll(dir, 0o755)
	for _, dark := range []bool{false, true} {
		theme := "light"
		if dark {
			theme = "dark"
		}
		var buf []byte
		run(t, ctx, "screenshot "+p.name, darkMode(dark), chromedp.FullScreenshot(&buf, 100))
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d-%s.png", p.name, width, theme)), buf, 0o644)
	}
	run(t, ctx, "light again", darkMode(false))
}

// visible reports whether sel is laid out and on screen.
func visible(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	var ok bool
	run(t, ctx, "visible "+sel, chromedp.Evaluate(`(() => { const e = document.querySelector(`+jsString(sel)+`);
	  if (!e) return false; const r = e.getBoundingClientRect();
	  return r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; })()`, &ok))
	return ok
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func activeID(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	run(t, ctx, "active element", chromedp.Evaluate(`(() => { const a = document.activeElement;
	  return a.id || (a.tagName.toLowerCase() + ':' + a.textContent.trim()); })()`, &s))
	return s
}

func press(key string) chromedp.Action { return chromedp.KeyEvent(key) }

// Every main page at a 390 px phone and a 1280 px desktop: nothing wider than
// the window, no character drawn as an empty box for want of a font, and on
// the phone the navigation folds behind a menu button that opens and closes
// it. With QUIRE_SCREENSHOTS set, each page is also saved at both widths, light and
// dark.
func TestBrowserLayoutEveryPageFits(t *testing.T) {
	chromiumPath(t)
	f := newLayoutFixture(t)
	for _, width := range []int64{390, 1280} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			visit := func(t *testing.T, ctx context.Context, p layoutPage) {
				run(t, ctx, p.name, chromedp.Navigate(f.in.URL+p.path), chromedp.WaitReady(`main`))
				checkWidth(t, ctx, p)
				if width == 390 {
					checkGlyphs(t, ctx, p)
				}
				shots(t, ctx, p, int(width))
			}
			t.Run("signed out", func(t *testing.T) {
				ctx := browser(t)
				run(t, ctx, "viewport", viewport(width, 844))
				for _, p := range f.anonymousPages() {
					visit(t, ctx, p)
				}
			})
			// A few pages per browser: each has 90 s, and screenshots on a busy machine take time.
			for pages := f.signedInPages(); len(pages) > 0; {
				group := pages[:min(6, len(pages))]
				pages = pages[len(group):]
				t.Run(group[0].name, func(t *testing.T) {
					ctx := browser(t)
					run(t, ctx, "viewport", viewport(width, 844))
					loginAs(t, ctx, f.in, "ada@example.com", "analytical-engine")
					for _, p := range group {
						visit(t, ctx, p)
					}
				})
			}

			ctx := browser(t)
			run(t, ctx, "viewport", viewport(width, 844))
			loginAs(t, ctx, f.in, "ada@example.com", "analytical-engine")
			run(t, ctx, "workspace page", chromedp.Navigate(f.in.URL+"/w/"+f.ws), chromedp.WaitReady(`main`))
			nav := `nav[aria-label="Workspace"] a[href$="/documents"]`
			if width > 760 {
				if visible(t, ctx, `#menu-toggle`) || !visible(t, ctx, nav) {
					t.Fatal("on a desktop the navigation should be shown without a menu button")
				}
				return
			}
			if !visible(t, ctx, `#menu-toggle`) || visible(t, ctx, nav) {
				t.Fatal("on a phone the navigation should be folded behind a visible menu button")
			}
			var expanded string
			run(t, ctx, "open the menu", chromedp.Click(`#menu-toggle`), chromedp.WaitVisible(nav),
				chromedp.AttributeValue(`#menu-toggle`, "aria-expanded", &expanded, nil))
			if expanded != "true" {
				t.Fatalf("open menu: aria-expanded=%q", expanded)
			}
			checkWidth(t, ctx, layoutPage{"open menu", "/w/" + f.ws})
			shots(t, ctx, layoutPage{"menu-open", "/w/" + f.ws}, int(width))
			run(t, ctx, "Escape closes it", press(kb.Escape), chromedp.WaitNotVisible(nav),
				chromedp.AttributeValue(`#menu-toggle`, "aria-expanded", &expanded, nil))
			if expanded != "false" || activeID(t, ctx) != "menu-toggle" {
				t.Fatalf("after Escape: aria-expanded=%q, focus on %q (want the menu button)", expanded, activeID(t, ctx))
			}
			run(t, ctx, "the button toggles", chromedp.Click(`#menu-toggle`), chromedp.WaitVisible(nav),
				chromedp.Click(`#menu-toggle`), chromedp.WaitNotVisible(nav))
			// Following a link in the menu lands on the page with the menu closed.
			run(t, ctx, "a link in the menu", chromedp.Click(`#menu-toggle`), chromedp.WaitVisible(nav),
				chromedp.Click(nav), waitPath(ctx, func(p string) bool { return strings.HasSuffix(p, "/documents") }),
				chromedp.WaitReady(`#documents`))
			if visible(t, ctx, nav) {
				t.Fatal("the menu stays open over the page a link in it led to")
			}
		})
	}
}

// The chat's side panel (settings, sharing, manage) on a laptop screen: it
// keeps to the window and scrolls by itself, so Manage is reachable without
// scrolling through the whole transcript first.
func TestBrowserLayoutChatPanelFits(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	var ws, chat struct{ ID string }
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Acme"}, &ws)
	for i := range 6 {
		in.api("POST", "/api/workspaces/"+ws.ID+"/knowledge-bases", su.Token, map[string]any{"name": fmt.Sprintf("Knowledge base %d", i)}, nil)
	}
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", su.Token, map[string]any{}, &chat)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")
	var fits struct {
		Bottom, Inner float64
		Reached       bool
	}
	run(t, ctx, "chat page",
		viewport(1280, 720),
		chromedp.Navigate(in.URL+"/w/"+ws.ID+"/c/"+chat.ID), chromedp.WaitReady(`.chat-side`),
		chromedp.Evaluate(`(() => { const side = document.querySelector('.chat-side');
		  side.querySelectorAll('details').forEach((d) => { d.open = true; });
		  const bottom = side.getBoundingClientRect().bottom;
		  side.scrollTop = side.scrollHeight;
		  const m = [...side.querySelectorAll('summary')].pop().getBoundingClientRect();
		  return {bottom, inner: innerHeight, reached: m.top >= 0 && m.bottom <= innerHeight}; })()`, &fits),
	)
	if fits.Bottom > fits.Inner || !fits.Reached {
		t.Fatalf("the side panel ends at %.0f px in a %.0f px window; Manage reachable by scrolling the panel: %v", fits.Bottom, fits.Inner, fits.Reached)
	}
}

// Keyboard only: the first Tab shows a skip link that moves focus into the
// page's content; on a chat a second one reaches the question box; arrow keys
// move through the workspace switcher and the navigation; focus is visible in
// both themes.
func TestBrowserLayoutKeyboard(t *testing.T) {
	ctx := browser(t)
	in := start(t, "")
	var su struct{ Token string }
	su.Token = in.setupAdmin("ada@example.com", "analytical-engine", "Ada")
	var ws, ws2, chat struct{ ID string }
	// A name with markup and control characters is shown as text, never as HTML.
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Acme"}, &ws)
	in.api("POST", "/api/workspaces", su.Token, map[string]string{"name": "Beta <img src=x onerror=alert(1)>\u0007\u001b[31m"}, &ws2)
	in.api("POST", "/api/workspaces/"+ws.ID+"/chats", su.Token, map[string]any{"name": "Trips"}, &chat)
	loginAs(t, ctx, in, "ada@example.com", "analytical-engine")

	for _, dark := range []bool{false, true} {
		run(t, ctx, "members page", darkMode(dark), chromedp.Navigate(in.URL+"/w/"+ws.ID+"/members"), chromedp.WaitReady(`main`),
			press(kb.Tab))
		var skip struct {
			Text    string
			Outline string
			Width   float64
			Color   string
			Bg      string
		}
		run(t, ctx, "first Tab", chromedp.Evaluate(`(() => { const a = document.activeElement, s = getComputedStyle(a);
		  return {text: a.textContent.trim(), outline: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
		    bg: getComputedStyle(document.body).backgroundColor}; })()`, &skip))
		if !strings.Contains(strings.ToLower(skip.Text), "skip to") || !visible(t, ctx, `.skip-link:focus`) {
			t.Fatalf("dark=%v: the first Tab focuses %q (visible: %v), want a visible skip link", dark, skip.Text, visible(t, ctx, `.skip-link:focus`))
		}
		if skip.Outline == "none" || skip.Width < 2 || skip.Color == skip.Bg {
			t.Fatalf("dark=%v: focus ring %s %.0fpx %s on %s", dark, skip.Outline, skip.Width, skip.Color, skip.Bg)
		}
		if !dark {
			shots(t, ctx, layoutPage{"skip-link", "/members"}, 1280)
		}
		var inMain bool
		run(t, ctx, "Enter, then Tab", press(kb.Enter), press(kb.Tab),
			chromedp.Evaluate(`!!document.activeElement.closest('main')`, &inMain))
		if !inMain {
			t.Fatalf("dark=%v: after the skip link, Tab focuses %q outside the content", dark, activeID(t, ctx))
		}
	}

	run(t, ctx, "chat", darkMode(false), chromedp.Navigate(in.URL+"/w/"+ws.ID+"/c/"+chat.ID), chromedp.WaitReady(`#question`))
	// A composer that takes focus on load is reached in no steps at all.
	if activeID(t, ctx) != "question" {
		run(t, ctx, "Tab, Tab, Enter", press(kb.Tab), press(kb.Tab), press(kb.Enter))
	}
	if got := activeID(t, ctx); got != "question" {
		t.Fatalf("two Tabs and Enter on a chat focus %q, want the question box", got)
	}

	// The workspace switcher is a menu: arrows move, Escape closes and gives focus back.
	var items []string
	var injected bool
	run(t, ctx, "open the switcher", chromedp.Focus(`#ws-toggle`), press(kb.ArrowDown),
		chromedp.WaitVisible(`#ws-menu`),
		chromedp.Evaluate(`[...document.querySelectorAll('#ws-menu [role=menuitem]')].map((a) => a.textContent.trim())`, &items),
		chromedp.Evaluate(`!!document.querySelector('.sidebar img:not(.brand img)')`, &injected))
	if len(items) != 3 || !slices.ContainsFunc(items, func(s string) bool { return strings.HasPrefix(s, "Beta <img") }) || items[2] != "New workspace…" || injected {
		t.Fatalf("switcher items %q (markup became an element: %v)", items, injected)
	}
	if got := activeID(t, ctx); got != "a:"+items[0] {
		t.Fatalf("ArrowDown on the switcher focuses %q, want the first workspace", got)
	}
	run(t, ctx, "down", press(kb.ArrowDown))
	if got := activeID(t, ctx); got != "a:"+items[1] {
		t.Fatalf("ArrowDown focuses %q, want the second workspace", got)
	}
	run(t, ctx, "end, then down wraps", press(kb.End))
	if got := activeID(t, ctx); !strings.Contains(got, "New workspace") {
		t.Fatalf("End focuses %q", got)
	}
	run(t, ctx, "wrap", press(kb.ArrowDown))
	if got := activeID(t, ctx); got != "a:"+items[0] {
		t.Fatalf("ArrowDown past the end focuses %q, want the first item", got)
	}
	run(t, ctx, "Escape", press(kb.Escape), chromedp.WaitNotVisible(`#ws-menu`))
	if got := activeID(t, ctx); got != "ws-toggle" {
		t.Fatalf("Escape leaves focus on %q, want the switcher button", got)
	}
	other := ws2.ID
	if items[0] != "Acme" {
		other = ws.ID
	}
	run(t, ctx, "choose with Enter", press(kb.ArrowDown), press(kb.ArrowDown), press(kb.Enter),
		waitPath(ctx, func(p string) bool { return p == "/w/"+other }))

	// Arrow keys walk the navigation's links too.
	run(t, ctx, "nav", chromedp.Focus(`nav[aria-label="Workspace"] a`), press(kb.ArrowDown))
	if got := activeID(t, ctx); got != "a:Chats" {
		t.Fatalf("ArrowDown in the navigation focuses %q, want Chats", got)
	}
	run(t, ctx, "up wraps", press(kb.ArrowUp), press(kb.ArrowUp))
	var last string
	run(t, ctx, "last link", chromedp.Evaluate(`[...document.querySelectorAll('nav[aria-label="Workspace"] a')].pop().textContent.trim()`, &last))
	if got := activeID(t, ctx); got != "a:"+last {
		t.Fatalf("ArrowUp from the first link focuses %q, want %q", got, last)
	}

	// On a phone, the menu opens from the keyboard and puts focus in it.
	run(t, ctx, "phone", viewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(`#menu-toggle`),
		chromedp.Focus(`#menu-toggle`), press(kb.Enter), chromedp.WaitVisible(`nav[aria-label="Workspace"]`))
	var inMenu bool
	run(t, ctx, "focus in the menu", chromedp.Evaluate(`!!document.activeElement.closest('#sidebar-body')`, &inMenu))
	if !inMenu {
		t.Fatalf("opening the menu leaves focus on %q", activeID(t, ctx))
	}
}
