// The chat page: sends questions, follows the reply as Server-Sent Events over
// fetch (EventSource cannot POST), and shows text as it streams. When the reply
// is stored, the server's sanitised HTML and its sources replace the raw text.
// The composer's model and knowledge bases, and the settings beside it, are
// saved as they change; a question waits for those saves, so it is asked with
// what is shown.
(() => {
  'use strict';
  const transcript = document.getElementById('transcript');
  const form = document.getElementById('composer');
  if (!transcript) return;
  const base = `/api/workspaces/${transcript.dataset.ws}/chats/${transcript.dataset.chat}`;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const $ = (sel, root = document) => root.querySelector(sel);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  // ---- Following the transcript -------------------------------------------
  // The page opens at the latest message and follows a streaming reply unless
  // the reader has scrolled up; then "Jump to latest" brings them back.
  const scroller = document.scrollingElement || document.documentElement;
  const jump = document.getElementById('jump-latest');
  let following = true;
  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
  let lastTop = scroller.scrollTop;
  function toLatest() { scroller.scrollTop = scroller.scrollHeight; lastTop = scroller.scrollTop; following = true; if (jump) jump.hidden = true; }
  // A scroll up since we last looked, whose event may not have arrived yet, ends the following.
  function stillFollowing() { if (scroller.scrollTop < lastTop - 2) following = false; return following; }
  // grew is called after the transcript changed.
  function grew() { if (stillFollowing()) toLatest(); else if (jump) jump.hidden = false; }
  // Only a reader scrolling up stops the following (the page growing under
  // a scroll of ours must not), and reaching the bottom resumes it. The page
  // keeps its own scroll position: the browser's restoring an old one on
  // reload would fight the opening at the latest message.
  history.scrollRestoration = 'manual';
  window.addEventListener('scroll', () => {
    const top = scroller.scrollTop;
    if (atBottom()) following = true;
    else if (top < lastTop - 2) following = false;
    lastTop = top;
    if (following && jump) jump.hidden = true;
  }, { passive: true });
  jump?.addEventListener('click', () => { toLatest(); $('#question')?.focus(); });
  if (!location.hash) toLatest();
  // The page also grows after this script (messages.js adds each message's
  // actions, the composer its chips, fonts settle): a reader still following
  // stays at the latest message.
  new ResizeObserver(() => { if (stillFollowing() && !location.hash) toLatest(); }).observe(document.body);

  // ---- Live status for screen readers -------------------------------------
  const status = document.getElementById('chat-status');
  const announce = (text) => { if (status) status.textContent = text; };

  // ---- Messages -----------------------------------------------------------
  function bubble(role, id) {
    $('#empty-chat')?.remove();
    const el = document.createElement('article');
    el.className = `msg ${role}`;
    if (id) { el.id = `m-${id}`; el.dataset.id = id; }
    el.dataset.role = role;
    el.innerHTML = '<div class="msg-body"></div>';
    transcript.appendChild(el);
    return el;
  }

  function sourcesHTML(sources) {
    sources = sources?.filter((s) => s.cited); // what the reply cites, not all that was retrieved
    if (!sources?.length) return '';
    return '<ol class="sources">' + sources.map((s) => `<li class="${s.cited ? 'cited' : ''}" data-n="${s.n}" data-chunk="${esc(s.chunk_id)}"><span class="n">${s.n}</span>
      <a href="/w/${transcript.dataset.ws}/documents/${esc(s.document_id)}#chunk-${esc(s.chunk_id)}">${esc(s.document_name)}${s.page_number ? `, p. ${s.page_number}` : ''}</a>
      ${s.section_heading ? `<span class="muted small">— ${esc(s.section_heading)}</span>` : ''}
      ${s.snippet ? `<blockquote>${esc(s.snippet)}</blockquote>` : ''}</li>`).join('') + '</ol>';
  }

  // An agent reply's steps: each tool call folded to its summary, unfolded
  // to the call and what the tool returned (as the server renders them).
  function stepHTML(call, result) {
    return `<details class="step${result.error ? ' refused' : ''}"><summary>${esc(result.summary)}</summary>` +
      (call ? `<code class="step-call">${esc(call)}</code>` : '') +
      (result.content ? `<pre class="step-result">${esc(result.content)}</pre>` : '') + '</details>';
  }

  function showStep(el, step) {
    const calls = JSON.parse(el.dataset.calls || '{}');
    if (step.role === 'assistant') {
      for (const c of step.tool_calls || []) calls[c.id] = `${c.name} ${JSON.stringify(c.arguments)}`;
      el.dataset.calls = JSON.stringify(calls);
      phase(el, 'Searching your documents…');
      return;
    }
    let box = $('.steps', el);
    if (!box) {
      box = document.createElement('div');
      box.className = 'steps'; box.setAttribute('role', 'group'); box.setAttribute('aria-label', 'How the answer was found');
      $('.msg-body', el).before(box);
    }
    box.insertAdjacentHTML('beforeend', stepHTML(calls[step.tool_call_id], step));
    announce(step.summary);
  }

  function showSteps(el, steps) {
    $('.steps', el)?.remove();
    delete el.dataset.calls;
    for (const s of steps || []) showStep(el, s);
  }

  function showFinal(el, msg) {
    el.id = `m-${msg.id}`; el.dataset.id = msg.id;
    el.className = `msg assistant${msg.status !== 'complete' ? ' ' + msg.status : ''}`;
    $('.msg-body', el).innerHTML = msg.content_html || esc(msg.content);
    el.querySelectorAll('.msg-note, .sources, .phase').forEach((n) => n.remove());
    showSteps(el, msg.steps);
    if (msg.status === 'stopped') el.insertAdjacentHTML('beforeend', `<p class="msg-note">${msg.content ? 'Stopped — the reply is incomplete.' : 'Stopped before the answer began.'}</p>`);
    el.insertAdjacentHTML('beforeend', sourcesHTML(msg.citations));
  }

  // phase shows what a reply is waiting for, in the reply's bubble and to screen readers.
  function phase(el, text) {
    let p = $('.phase', el);
    if (!text) { p?.remove(); return; }
    if (!p) { p = document.createElement('p'); p.className = 'phase muted'; el.prepend(p); }
    p.textContent = text;
    announce(text);
  }

  // ---- Sending and streaming ----------------------------------------------
  let busy = false, ended = true;

  function setBusy(on) {
    busy = on;
    if (!form) return;
    $('#send', form).disabled = on;
    $('#stop', form).hidden = !on;
    $('#regenerate', form).hidden = on || !transcript.querySelector('.msg');
  }

  // showError shows why a question or a change failed, as a sentence.
  function showError(text) {
    const err = $('.form-error', form);
    err.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) : ''; err.hidden = !text;
  }

  // stream POSTs to url and renders the SSE reply into a bubble shown at once;
  // onUser is called with the stored question. It resolves to whether the
  // server took the request (a refusal before any event leaves nothing behind).
  async function stream(url, body, { onUser } = {}) {
    showError('');
    setBusy(true);
    ended = false;
    following = true;
    const reply = bubble('assistant');
    reply.classList.add('streaming', 'pending');
    phase(reply, attachedKBs().length ? 'Searching your documents…' : 'Thinking…');
    grew();
    let text = '', accepted = false;
    try {
      const res = await fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': csrf },
        body: JSON.stringify(body || {}),
      });
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        throw new Error(data?.error?.message || `The request failed (HTTP ${res.status}).`);
      }
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, i); buf = buf.slice(i + 2);
          const name = /^event: (.*)$/m.exec(raw)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(raw)?.[1] || 'null');
          if (name === 'user_message') { accepted = true; reply.classList.remove('pending'); onUser?.(data); }
          else if (name === 'step') showStep(reply, data);
          else if (name === 'citations') { reply.dataset.sources = JSON.stringify(data); phase(reply, 'Writing the answer…'); }
          else if (name === 'delta') {
            if (!text) phase(reply, '');
            text += data.content; $('.msg-body', reply).textContent = text;
          } else if (name === 'done') {
            ended = true; showFinal(reply, data); refreshTitle();
            announce(data.status === 'stopped' ? 'Stopped.' : 'The answer is complete.');
          } else if (name === 'error') {
            ended = true; phase(reply, '');
            reply.classList.remove('streaming'); reply.classList.add('failed');
            reply.insertAdjacentHTML('beforeend', `<p class="msg-note error">The reply failed: ${esc(data.message)}</p>`);
            announce(`The reply failed: ${data.message}`);
          }
          grew();
        }
      }
    } catch (e) {
      if (!accepted) reply.remove();
      else phase(reply, '');
      showError(e.message);
      announce(e.message);
    } finally {
      ended = true;
      reply.classList.remove('streaming');
      setBusy(false);
      transcript.dispatchEvent(new CustomEvent('quire:reply-end')); // messages.js shows the stored versions
    }
    return accepted;
  }

  // A new chat is named by the model after its first reply: show the name in
  // the heading, the tab, the settings and the sidebar's list when it lands.
  function refreshTitle(delay = 500) {
    const h1 = document.getElementById('chat-title');
    if (!h1 || h1.textContent !== 'New chat' || delay > 16000) return;
    setTimeout(async () => {
      const res = await fetch(base, { credentials: 'same-origin' }).catch(() => null);
      const chat = res?.ok ? await res.json() : null;
      if (chat?.name) showName(chat.name); else refreshTitle(delay * 2);
    }, delay);
  }

  function showName(name) {
    const shown = name || 'New chat';
    const h1 = document.getElementById('chat-title');
    if (h1) h1.textContent = shown;
    document.title = `${shown} · Quire`;
    document.querySelectorAll(`.chat-list a[href="/w/${transcript.dataset.ws}/c/${transcript.dataset.chat}"]`).forEach((a) => { a.textContent = shown; });
    const input = $('#chat-settings input[name=name]');
    if (input && document.activeElement !== input) input.value = name;
  }

  async function ask() {
    const q = $('#question', form);
    const content = q.value.trim();
    if (!content || busy) return;
    closePicker();
    q.value = '';
    // The question shows at once; it becomes the stored one when the server has it.
    const mine = bubble('user');
    mine.classList.add('pending');
    $('.msg-body', mine).innerHTML = `<p class="plain">${esc(content)}</p>`;
    grew();
    try {
      await saved();
    } catch (e) {
      mine.remove(); q.value = content; showError(e.message); return;
    }
    const ok = await stream(`${base}/messages`, { content }, {
      onUser: (m) => { mine.id = `m-${m.id}`; mine.dataset.id = m.id; mine.classList.remove('pending'); },
    });
    if (!ok) {
      mine.remove();
      if (!q.value.trim()) q.value = content; // a refused question is not lost
      q.focus();
    }
  }

  // Stop works in every phase. A click before the server has registered the
  // reply (it answers 409) is tried again until the reply is stopped or ends.
  async function stop() {
    announce('Stopping…');
    for (let tries = 0; tries < 40 && !ended; tries++) {
      const res = await fetch(`${base}/stop`, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } }).catch(() => null);
      if (res?.ok || (res && res.status !== 409)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // messages.js edits a question in place and asks for its answer here.
  transcript.addEventListener('quire:stream', (ev) => stream(ev.detail.url, ev.detail.body));

  // ---- Saving settings as they change -------------------------------------
  // Saves run one after another; ask() waits for them.
  let saving = Promise.resolve();
  const saved = () => saving;
  const savedNote = document.getElementById('settings-saved');

  function save(fields, { onError } = {}) {
    const run = saving.catch(() => {}).then(async () => {
      const res = await fetch(base, {
        method: 'PATCH', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
        body: JSON.stringify(fields),
      }).catch(() => null);
      const data = res ? await res.json().catch(() => null) : null;
      if (!res?.ok) {
        const e = new Error(data?.error?.message || (res ? `Saving failed (HTTP ${res.status}).` : 'Cannot reach the server. Check your connection and try again.'));
        e.field = data?.error?.field;
        onError?.(e);
        throw e;
      }
      if (savedNote) savedNote.textContent = 'Saved.';
      return data;
    });
    saving = run;
    return run;
  }

  // ---- Knowledge bases: chips, the # picker, the sidebar's boxes ------------
  const chips = document.getElementById('kb-chips');
  const picker = document.getElementById('kb-picker');
  const kbName = (id) => $(`li[data-kb="${CSS.escape(id)}"]`, picker)?.textContent || '';
  const attachedKBs = () => (chips ? [...chips.querySelectorAll('.chip')].map((c) => c.dataset.kb) : []);

  function renderKBs(ids) {
    if (!chips) return;
    chips.innerHTML = ids.map((id) => `<span class="chip" data-kb="${esc(id)}">${esc(kbName(id))}<button type="button" class="chip-x" aria-label="Stop answering from ${esc(kbName(id))}">×</button></span>`).join('');
    document.querySelectorAll('#chat-settings input[name=knowledge_base_ids]').forEach((box) => { box.checked = ids.includes(box.value); });
  }

  function setKBs(ids) {
    const before = attachedKBs();
    renderKBs(ids);
    save({ knowledge_base_ids: ids }, { onError: (e) => { renderKBs(before); showError(e.message); } })
      .then(() => announce(`Answering from ${ids.length ? ids.map(kbName).join(', ') : 'no knowledge base'}.`), () => {});
  }

  chips?.addEventListener('click', (ev) => {
    const x = ev.target.closest('.chip-x');
    if (!x) return;
    const id = x.closest('.chip').dataset.kb;
    setKBs(attachedKBs().filter((k) => k !== id));
    $('#question')?.focus();
  });

  // The picker opens on "#" typed at a word's start (filtering by what follows)
  // or from the "# Knowledge" button, and lists the visible knowledge bases not
  // yet attached.
  let hashAt = -1; // where the "#" being completed is in the question, -1 from the button

  function options() { return [...picker.querySelectorAll('li[data-kb]')].filter((li) => !li.hidden); }

  function openPicker(filter) {
    const q = $('#question');
    const attached = attachedKBs();
    const f = filter.toLowerCase();
    picker.querySelectorAll('li[data-kb]').forEach((li) => {
      li.hidden = attached.includes(li.dataset.kb) || !li.textContent.toLowerCase().includes(f);
    });
    const shown = options();
    $('.picker-empty', picker).hidden = shown.length > 0;
    picker.hidden = false;
    q.setAttribute('aria-expanded', 'true');
    if (!shown.some((li) => li.getAttribute('aria-selected') === 'true')) highlight(shown[0]);
  }

  function closePicker() {
    if (!picker || picker.hidden) return;
    picker.hidden = true;
    hashAt = -1;
    const q = $('#question');
    q.setAttribute('aria-expanded', 'false');
    q.removeAttribute('aria-activedescendant');
  }

  function highlight(li) {
    picker.querySelectorAll('li[aria-selected="true"]').forEach((o) => o.setAttribute('aria-selected', 'false'));
    const q = $('#question');
    if (!li) { q.removeAttribute('aria-activedescendant'); return; }
    li.setAttribute('aria-selected', 'true');
    q.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  }

  function choose(li) {
    const q = $('#question');
    if (hashAt >= 0) { // the "#query" typed becomes the chip
      const end = q.selectionStart;
      q.value = q.value.slice(0, hashAt) + q.value.slice(end).replace(/^\s*/, '');
      q.setSelectionRange(hashAt, hashAt);
    }
    closePicker();
    setKBs([...attachedKBs(), li.dataset.kb]);
    q.focus();
  }

  // hashQuery is the "#word" being typed at the caret, or null.
  function hashQuery(q) {
    const before = q.value.slice(0, q.selectionStart);
    const m = /(^|\s)#([^\s#]*)$/.exec(before);
    return m ? { at: before.length - m[2].length - 1, text: m[2] } : null;
  }

  if (form) {
    const q = $('#question', form);
    q.addEventListener('input', () => {
      const h = hashQuery(q);
      if (h) { hashAt = h.at; openPicker(h.text); } else if (hashAt >= 0) closePicker();
    });
    q.addEventListener('keydown', (ev) => {
      if (!picker.hidden) {
        const shown = options();
        const cur = shown.findIndex((li) => li.getAttribute('aria-selected') === 'true');
        if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
          ev.preventDefault();
          const next = ev.key === 'ArrowDown' ? (cur + 1) % shown.length : (cur - 1 + shown.length) % shown.length;
          highlight(shown[next]);
          return;
        }
        if ((ev.key === 'Enter' || ev.key === 'Tab') && cur >= 0) { ev.preventDefault(); choose(shown[cur]); return; }
        if (ev.key === 'Escape') { ev.preventDefault(); closePicker(); return; }
      }
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); ask(); }
    });
    q.addEventListener('blur', () => setTimeout(() => { if (!picker.contains(document.activeElement)) closePicker(); }, 150));
    picker.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep the caret in the question
    picker.addEventListener('click', (ev) => { const li = ev.target.closest('li[data-kb]'); if (li) choose(li); });
    $('#attach-kb', form).addEventListener('click', () => {
      if (!picker.hidden) { closePicker(); return; }
      q.focus(); hashAt = -1; openPicker('');
    });

    // The model picker saves as it changes; a refusal puts the previous model back.
    const model = $('#composer-model', form);
    let modelBefore = model.value;
    model.addEventListener('change', () => {
      const chosen = model.value;
      save({ model: chosen }, { onError: (e) => { model.value = modelBefore; showError(e.message); } })
        .then(() => { modelBefore = chosen; showError(''); announce(`Answers now come from ${model.selectedOptions[0]?.textContent}.`); }, () => {});
    });

    form.addEventListener('submit', (ev) => { ev.preventDefault(); ask(); });
    $('#stop', form).addEventListener('click', stop);
    $('#regenerate', form).addEventListener('click', () => {
      const last = [...transcript.querySelectorAll('.msg')].pop();
      if (last?.dataset.role === 'assistant') last.remove();
      stream(`${base}/regenerate`, {});
    });
    if (form.dataset.running === 'true') showError('A reply is still being written; reload in a moment to see it.');
  }

  // The settings beside the chat save field by field as they change.
  const settings = document.getElementById('chat-settings');
  settings?.addEventListener('change', (ev) => {
    const el = ev.target;
    if (!el.name) return;
    let fields;
    if (el.name === 'knowledge_base_ids') {
      const ids = [...settings.querySelectorAll('input[name=knowledge_base_ids]:checked')].map((b) => b.value);
      setKBs(ids);
      return;
    }
    if (el.type === 'number') {
      if (el.value === '' || !el.checkValidity()) { if (el.value !== '') el.reportValidity(); return; }
      fields = { [el.name]: Number(el.value) };
    } else if (el.name === 'folder_id') fields = { folder_id: Number(el.value) };
    else if (el.name === 'agent_mode') fields = { agent_mode: el.value === 'auto' ? null : el.value === 'on' };
    else fields = { [el.name]: el.value };
    const err = $('.form-error', settings);
    err.hidden = true; el.removeAttribute('aria-invalid');
    if (savedNote) savedNote.textContent = 'Saving…';
    save(fields, { onError: (e) => { err.textContent = e.message; err.hidden = false; el.setAttribute('aria-invalid', 'true'); if (savedNote) savedNote.textContent = ''; } })
      .then((chat) => { if (el.name === 'name') showName(chat.name); }, () => {});
  });
  settings?.addEventListener('submit', (ev) => ev.preventDefault()); // Enter in a field saves through change
})();
