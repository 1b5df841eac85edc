// A chat's messages as versions, with their actions: copy (the Markdown
// source), "‹ 2/3 ›" between the versions of a turn (edits and regenerations
// are kept as siblings on the server), inline editing of a question, thumbs
// up/down with a note on answers, and the passage behind a citation [n] in a
// side panel. The transcript is server-rendered; after a switch it is fetched
// again from the page, and after a reply the stored versions are applied to
// what chat.js showed, so the versions shown are always the server's.
(() => {
  'use strict';
  const transcript = document.getElementById('transcript');
  if (!transcript) return;
  const ws = transcript.dataset.ws;
  const base = `/api/workspaces/${ws}/chats/${transcript.dataset.chat}`;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  // Only the owner has a composer; readers copy, rate and read citations.
  const owner = !!document.getElementById('composer');

  const svg = (path) => `<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false"><path d="${path}"/></svg>`;
  const icons = {
    copy: svg('M8 8V5a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-3M5 8h9a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-9a2 2 0 0 1 2-2z'),
    up: svg('M7 11v9H4v-9h3zm0 0 4-8a2 2 0 0 1 2 2v4h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 17.3 20H7'),
    down: svg('M17 13V4h3v9h-3zm0 0-4 8a2 2 0 0 1-2-2v-4H5.5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 6.7 4H17'),
    edit: svg('M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4'),
  };

  async function api(method, url, body) {
    const res = await fetch(url, {
      method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error(data?.error?.message || `The request failed (HTTP ${res.status}).`);
    return data;
  }

  // say announces a short result to screen readers (and shows it briefly).
  const live = document.createElement('p');
  live.className = 'sr-only';
  live.setAttribute('role', 'status');
  transcript.after(live);
  const say = (text) => { live.textContent = ''; setTimeout(() => { live.textContent = text; }, 30); };

  function button(cls, label, html) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `link small ${cls}`;
    b.setAttribute('aria-label', label);
    b.title = label;
    b.innerHTML = html;
    return b;
  }

  // decorate adds the action bar to each stored message (not to one streaming).
  function decorate(root = transcript) {
    root.querySelectorAll('.msg[data-id]').forEach((el) => {
      if (el.querySelector(':scope > .msg-actions') || el.classList.contains('streaming')) return;
      const bar = document.createElement('div');
      bar.className = 'msg-actions';
      const sibs = (el.dataset.siblings || '').split(',').filter(Boolean);
      const i = Number(el.dataset.index || 0);
      if (sibs.length > 1) {
        const nav = document.createElement('span');
        nav.className = 'versions';
        nav.setAttribute('role', 'group');
        nav.setAttribute('aria-label', `Version ${i + 1} of ${sibs.length}`);
        const prev = button('prev', 'Previous version', '‹');
        const next = button('next', 'Next version', '›');
        prev.disabled = !owner || i === 0;
        next.disabled = !owner || i === sibs.length - 1;
        prev.dataset.to = sibs[i - 1] || '';
        next.dataset.to = sibs[i + 1] || '';
        const count = document.createElement('span');
        count.className = 'version-count';
        count.textContent = `${i + 1}/${sibs.length}`;
        nav.append(prev, count, next);
        bar.append(nav);
      }
      bar.append(button('copy', el.dataset.role === 'user' ? 'Copy question' : 'Copy answer (Markdown)', icons.copy));
      if (owner && el.dataset.role === 'user') bar.append(button('edit', 'Edit question', icons.edit));
      if (el.dataset.role === 'assistant' && !el.classList.contains('failed')) {
        const up = button('rate', 'Good answer', icons.up);
        const down = button('rate', 'Bad answer', icons.down);
        up.dataset.rating = 'up'; down.dataset.rating = 'down';
        [up, down].forEach((b) => b.setAttribute('aria-pressed', String(el.dataset.rating === b.dataset.rating)));
        bar.append(up, down);
      }
      el.append(bar);
    });
  }

  // refresh fetches the chat page again and shows its transcript.
  async function refresh() {
    const res = await fetch(location.pathname, { credentials: 'same-origin' });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.getElementById('transcript');
    if (!fresh) return;
    const open = !panel.hidden && opener ? { id: opener.closest('.msg')?.dataset.id, n: opener.dataset.cite } : null;
    transcript.replaceChildren(...fresh.childNodes);
    decorate();
    // An open source stays open, tied to the same [n] of the message now shown.
    const again = open && transcript.querySelector(`#m-${CSS.escape(open.id || '')} a.cite[data-cite="${open.n}"]`);
    if (again) { opener = again; again.classList.add('open'); } else closePanel(false);
  }

  async function copy(el, b) {
    try {
      await navigator.clipboard.writeText(el.dataset.md ?? el.querySelector('.msg-body').innerText);
      b.classList.add('done');
      say('Copied.');
      setTimeout(() => b.classList.remove('done'), 1500);
    } catch {
      say('Copying was refused by the browser.');
    }
  }

  async function switchTo(id, from) {
    try {
      await api('POST', `${base}/messages/${id}/switch`);
      const index = [...transcript.querySelectorAll('.msg')].indexOf(from.closest('.msg'));
      await refresh();
      // Keep the reader's place: focus the same control on the version now shown.
      const el = transcript.querySelectorAll('.msg')[index];
      const again = el?.querySelector(`.versions .${from.classList.contains('prev') ? 'prev' : 'next'}`);
      (again && !again.disabled ? again : el?.querySelector('.versions .next, .versions .prev'))?.focus();
      const count = el?.querySelector('.versions .version-count')?.textContent;
      if (count) say(`Showing version ${count.replace('/', ' of ')}.`);
    } catch (e) {
      say(e.message);
    }
  }

  // Inline editing: the question becomes a textarea in place.
  function edit(el) {
    if (el.querySelector('form.edit-form')) return;
    const body = el.querySelector('.msg-body');
    const form = document.createElement('form');
    form.className = 'edit-form';
    form.innerHTML = `<label class="sr-only" for="edit-${el.dataset.id}">Edit your question</label>
      <textarea id="edit-${el.dataset.id}" rows="3" maxlength="32768"></textarea>
      <p class="hint">Saving asks again as a new version; this one and its answers stay one click away (‹ ›).</p>
      <p class="form-error" role="alert" hidden></p>
      <div class="row-actions"><button type="submit" class="primary small">Save</button><button type="button" class="small cancel">Cancel</button></div>`;
    const ta = form.querySelector('textarea');
    ta.value = el.dataset.md ?? body.innerText;
    body.hidden = true;
    el.querySelector('.msg-actions').hidden = true;
    el.insertBefore(form, body.nextSibling);
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
    const done = () => {
      form.remove(); body.hidden = false;
      el.querySelector('.msg-actions').hidden = false;
      el.querySelector('.msg-actions .edit')?.focus();
    };
    form.querySelector('.cancel').addEventListener('click', done);
    ta.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') { ev.preventDefault(); done(); }
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const content = ta.value.trim();
      const err = form.querySelector('.form-error');
      if (!content) { err.textContent = 'The question is empty.'; err.hidden = false; return; }
      if (content === (el.dataset.md ?? '').trim()) { done(); return; }
      // The new version replaces this branch on screen; the server keeps the old one.
      let n = el.nextElementSibling;
      while (n) { const after = n.nextElementSibling; if (n.classList.contains('msg')) n.remove(); n = after; }
      form.remove();
      body.hidden = false;
      body.innerHTML = '';
      const p = document.createElement('p');
      p.className = 'plain';
      p.textContent = content;
      body.append(p);
      el.dataset.md = content;
      el.querySelector('.msg-actions')?.remove();
      // chat.js streams the answer (it owns sending and streaming).
      transcript.dispatchEvent(new CustomEvent('quire:stream', { detail: { url: `${base}/messages/${el.dataset.id}/edit`, body: { content } } }));
    });
  }

  // Rating: a thumb toggles; after one, an optional note.
  async function rate(el, b) {
    const bar = b.closest('.msg-actions');
    const same = b.getAttribute('aria-pressed') === 'true';
    try {
      if (same) {
        await api('DELETE', `${base}/messages/${el.dataset.id}/feedback`);
        delete el.dataset.rating;
        delete el.dataset.note;
      } else {
        const f = await api('PUT', `${base}/messages/${el.dataset.id}/feedback`, { rating: b.dataset.rating, note: el.dataset.note || '' });
        el.dataset.rating = f.rating;
      }
      bar.querySelectorAll('.rate').forEach((r) => r.setAttribute('aria-pressed', String(el.dataset.rating === r.dataset.rating)));
      say(same ? 'Rating removed.' : 'Thanks — rating saved.');
      el.querySelector('.note-form')?.remove();
      if (!same) noteForm(el);
    } catch (e) {
      say(e.message);
    }
  }

  function noteForm(el) {
    const form = document.createElement('form');
    form.className = 'note-form';
    const id = `note-${el.dataset.id}`;
    form.innerHTML = `<label for="${id}">${el.dataset.rating === 'up' ? 'What was good?' : 'What was wrong?'} <span class="muted">(optional, seen by workspace admins)</span></label>
      <textarea id="${id}" rows="2" maxlength="2000"></textarea>
      <p class="form-error" role="alert" hidden></p>
      <div class="row-actions"><button type="submit" class="small">Save note</button><button type="button" class="link small skip">Skip</button></div>`;
    const ta = form.querySelector('textarea');
    ta.value = el.dataset.note || '';
    el.append(form);
    ta.focus();
    const close = () => { form.remove(); el.querySelector(`.rate[data-rating="${el.dataset.rating}"]`)?.focus(); };
    form.querySelector('.skip').addEventListener('click', close);
    ta.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); close(); } });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const f = await api('PUT', `${base}/messages/${el.dataset.id}/feedback`, { rating: el.dataset.rating, note: ta.value });
        el.dataset.note = f.note;
        say('Note saved.');
        close();
      } catch (e) {
        const err = form.querySelector('.form-error');
        err.textContent = e.message; err.hidden = false;
      }
    });
  }

  // The citation panel: the passage behind [n], next to the answer.
  const panel = document.createElement('aside');
  panel.id = 'cite-panel';
  panel.className = 'cite-panel';
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-labelledby', 'cite-title');
  panel.innerHTML = `<header><h2 id="cite-title">Source</h2><button type="button" class="link close" aria-label="Close the source">✕</button></header>
    <div class="cite-body"></div>`;
  document.body.append(panel);
  let opener = null;

  function closePanel(refocus = true) {
    if (panel.hidden) return;
    panel.hidden = true;
    transcript.querySelectorAll('a.cite.open').forEach((a) => a.classList.remove('open'));
    if (refocus && opener?.isConnected) opener.focus();
    opener = null;
  }
  panel.querySelector('.close').addEventListener('click', () => closePanel());
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && !panel.hidden) { ev.preventDefault(); closePanel(); } });

  // citedWords are the words of the answer's sentence around [n]: what the
  // answer took from the passage, to mark there.
  function citedWords(link) {
    const text = link.closest('p, li, td, blockquote, .msg-body')?.textContent || '';
    const marker = link.textContent;
    const sentences = text.split(/(?<=[.!?])\s+/);
    const sentence = sentences.find((s) => s.includes(marker)) || '';
    const skip = new Set(['that', 'this', 'with', 'from', 'they', 'have', 'were', 'which', 'their', 'there', 'about', 'would', 'these', 'your', 'what', 'when', 'will', 'into', 'than', 'then', 'them', 'also', 'only', 'been', 'more', 'some', 'such']);
    return [...new Set(sentence.replace(/\[\d+\]/g, ' ').toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) || [])].filter((w) => !skip.has(w));
  }

  // marked renders text with the given words in <mark>, as DOM nodes (never HTML).
  function marked(text, words) {
    const frag = document.createDocumentFragment();
    if (!words.length) { frag.append(text); return frag; }
    const esc = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const re = new RegExp(`(?<![\\p{L}\\p{N}])(${esc.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
    let last = 0;
    for (const m of text.matchAll(re)) {
      frag.append(text.slice(last, m.index));
      const mark = document.createElement('mark');
      mark.textContent = m[0];
      frag.append(mark);
      last = m.index + m[0].length;
    }
    frag.append(text.slice(last));
    return frag;
  }

  async function openCitation(link) {
    const el = link.closest('.msg');
    const n = link.dataset.cite;
    closePanel(false);
    opener = link;
    link.classList.add('open');
    const body = panel.querySelector('.cite-body');
    body.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'Loading the passage…' }));
    panel.querySelector('#cite-title').textContent = `Source [${n}]`;
    panel.hidden = false;
    panel.querySelector('.close').focus();
    try {
      const c = await api('GET', `${base}/messages/${el.dataset.id}/citations/${n}`);
      const where = c.location || (c.page_number ? `p. ${c.page_number}` : '');
      body.replaceChildren();
      const name = document.createElement('p');
      name.className = 'cite-doc';
      name.textContent = c.document_name + (where ? ` · ${where}` : '');
      body.append(name);
      if (c.section_heading) body.append(Object.assign(document.createElement('p'), { className: 'muted small cite-heading', textContent: c.section_heading }));
      const q = document.createElement('blockquote');
      q.className = 'cite-passage';
      q.append(marked(c.passage || c.snippet || '', citedWords(link)));
      body.append(q);
      if (c.can_open) {
        const a = document.createElement('a');
        a.className = 'button small';
        a.href = `/w/${ws}/documents/${encodeURIComponent(c.document_id)}#chunk-${encodeURIComponent(c.chunk_id)}`;
        a.textContent = 'Open document';
        body.append(a);
      } else {
        body.append(Object.assign(document.createElement('p'), { className: 'muted small', textContent: 'You cannot open this document (it is not shared with you, or it was removed).' }));
      }
      body.querySelector('mark')?.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      body.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: e.message }));
    }
  }

  transcript.addEventListener('click', (ev) => {
    const cite = ev.target.closest('a.cite');
    if (cite) { ev.preventDefault(); openCitation(cite); return; }
    const b = ev.target.closest('.msg-actions button');
    if (!b) return;
    const el = b.closest('.msg');
    if (b.classList.contains('copy')) copy(el, b);
    else if (b.classList.contains('edit')) edit(el);
    else if (b.classList.contains('rate')) rate(el, b);
    else if (b.dataset.to) switchTo(b.dataset.to, b);
  });
  // sync brings the stored versions to the messages chat.js has just shown
  // (ids, siblings, Markdown) without replacing them, so a reader's selection
  // and place stay; if the screen no longer matches the chat, it is redrawn.
  async function sync() {
    const els = [...transcript.querySelectorAll('.msg')];
    if (!els.length) return;
    let items;
    try {
      items = (await api('GET', `${base}/messages?latest=true&limit=${Math.min(200, els.length)}`)).items;
    } catch {
      return;
    }
    const shown = els.slice(-items.length);
    if (items.length !== Math.min(200, els.length) || items.some((m, i) => m.role !== shown[i].dataset.role)) { await refresh(); return; }
    items.forEach((m, i) => {
      const el = shown[i];
      const sibs = m.sibling_ids.join(',');
      if (el.dataset.id === m.id && el.dataset.siblings === sibs && el.querySelector(':scope > .msg-actions')) return;
      el.id = `m-${m.id}`;
      el.dataset.id = m.id;
      el.dataset.siblings = sibs;
      el.dataset.index = m.sibling_index;
      el.dataset.md = m.content;
      el.querySelector(':scope > .msg-actions')?.remove();
    });
    decorate();
  }
  // chat.js tells when a reply it streamed has ended (done, failed or stopped).
  transcript.addEventListener('quire:reply-end', () => { sync(); });
  decorate();
})();
