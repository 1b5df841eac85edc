// The chat page: sends questions, follows the reply as Server-Sent Events over
// fetch (EventSource cannot POST), and shows text as it streams. When the reply
// is stored, the server's sanitised HTML and its sources replace the raw text.
(() => {
  'use strict';
  const transcript = document.getElementById('transcript');
  const form = document.getElementById('composer');
  if (!transcript) return;
  const base = `/api/workspaces/${transcript.dataset.ws}/chats/${transcript.dataset.chat}`;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const $ = (sel, root = document) => root.querySelector(sel);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

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

  function showFinal(el, msg) {
    el.id = `m-${msg.id}`; el.dataset.id = msg.id;
    el.className = `msg assistant${msg.status !== 'complete' ? ' ' + msg.status : ''}`;
    $('.msg-body', el).innerHTML = msg.content_html || esc(msg.content);
    el.querySelectorAll('.msg-note, .sources').forEach((n) => n.remove());
    if (msg.status === 'stopped') el.insertAdjacentHTML('beforeend', '<p class="msg-note">Stopped — the reply is incomplete.</p>');
    el.insertAdjacentHTML('beforeend', sourcesHTML(msg.citations));
  }

  function setBusy(busy) {
    if (!form) return;
    $('#send', form).disabled = busy;
    $('#stop', form).hidden = !busy;
    $('#regenerate', form).hidden = busy;
  }

  function showError(text) {
    const err = $('.form-error', form);
    err.textContent = text; err.hidden = !text;
  }

  // stream POSTs to url and renders the SSE reply.
  async function stream(url, body, { onUser } = {}) {
    showError('');
    setBusy(true);
    let reply = null, text = '';
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
          if (name === 'user_message') { onUser?.(data); reply = bubble('assistant'); reply.classList.add('streaming'); }
          else if (name === 'citations') reply.dataset.sources = JSON.stringify(data);
          else if (name === 'delta') { text += data.content; $('.msg-body', reply).textContent = text; reply.scrollIntoView({ block: 'end' }); }
          else if (name === 'done') { showFinal(reply, data); refreshTitle(); }
          else if (name === 'error') {
            reply.classList.remove('streaming'); reply.classList.add('failed');
            reply.insertAdjacentHTML('beforeend', `<p class="msg-note error">The reply failed: ${esc(data.message)}</p>`);
          }
        }
      }
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
      reply?.classList.remove('streaming');
      if (transcript.querySelector('.msg')) $('#regenerate', form).hidden = false;
      transcript.dispatchEvent(new CustomEvent('quire:reply-end')); // messages.js shows the stored versions
    }
  }

  // A new chat is named by the model after its first reply; show the name when it lands.
  function refreshTitle(tries = 5) {
    const h1 = document.getElementById('chat-title');
    if (!h1 || h1.textContent !== 'New chat' || tries === 0) return;
    setTimeout(async () => {
      const res = await fetch(base, { credentials: 'same-origin' });
      const chat = res.ok ? await res.json() : null;
      if (chat?.name) { h1.textContent = chat.name; document.title = `${chat.name} · Quire`; } else refreshTitle(tries - 1);
    }, 400);
  }

  function ask() {
    const q = $('#question', form);
    const content = q.value.trim();
    if (!content) return;
    q.value = '';
    stream(`${base}/messages`, { content }, {
      onUser: (m) => { const el = bubble('user', m.id); $('.msg-body', el).innerHTML = `<p class="plain">${esc(m.content)}</p>`; },
    });
  }

  // messages.js edits a question in place and asks for its answer here.
  transcript.addEventListener('quire:stream', (ev) => stream(ev.detail.url, ev.detail.body));

  if (!form) return;
  form.addEventListener('submit', (ev) => { ev.preventDefault(); ask(); });
  $('#question', form).addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); ask(); }
  });
  $('#stop', form).addEventListener('click', () => {
    fetch(`${base}/stop`, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
  });
  $('#regenerate', form).addEventListener('click', () => {
    const last = [...transcript.querySelectorAll('.msg')].pop();
    if (last?.dataset.role === 'assistant') last.remove();
    stream(`${base}/regenerate`, {});
  });
  if (form.dataset.running === 'true') showError('A reply is still being written; reload in a moment to see it.');
})();
