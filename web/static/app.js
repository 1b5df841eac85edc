// Quire's UI behaviour, kept small: forms marked data-api are sent to the JSON API
// with the session's CSRF token, and the API's error message is shown in the form.
(() => {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

  async function api(method, url, body) {
    const headers = { Accept: 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const opts = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, opts);
    } catch {
      throw Object.assign(new Error('Cannot reach the server. Check your connection and try again.'), {});
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch { /* not JSON */ }
    }
    if (!res.ok) {
      const e = new Error(data?.error?.message || `The request failed (HTTP ${res.status}).`);
      e.field = data?.error?.field;
      e.status = res.status;
      throw e;
    }
    return data;
  }
  window.quire = { api };

  // formBody turns named fields into a JSON object: checkboxes become booleans,
  // number inputs and [data-number] selects numbers; empty [data-optional] fields are left out.
  function formBody(form) {
    const body = {};
    let named = 0;
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      named++;
      if (el.type === 'checkbox' && 'list' in el.dataset) {
        body[el.name] ||= [];
        if (el.checked) body[el.name].push('number' in el.dataset ? Number(el.value) : el.value);
      } else if ('array' in el.dataset) { if (el.value !== '') body[el.name] = [el.value]; }
      else if (el.type === 'checkbox') body[el.name] = el.checked;
      else if (el.type === 'radio') { if (el.checked) body[el.name] = el.value; }
      else if ('bool' in el.dataset) body[el.name] = el.value === 'true';
      else if (el.type === 'number' || 'number' in el.dataset) { if (el.value !== '') body[el.name] = Number(el.value); }
      else if ('optional' in el.dataset && el.value === '') continue;
      else body[el.name] = el.value;
    }
    return named ? body : undefined;
  }

  // fill puts ids from the response into a data-redirect template. Only ids: a
  // response may carry a secret (sign-in returns the session token), and a URL
  // leaks to history, logs and, through a hostile redirect, to another site.
  const fillable = new Set(['id', 'workspace_id']);
  const fill = (tpl, data) => tpl.replace(/\{(\w+)\}/g, (_, k) => (fillable.has(k) ? encodeURIComponent(data?.[k] ?? '') : ''));

  async function submit(form) {
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const err = form.querySelector('.form-error');
    if (err) { err.textContent = ''; err.hidden = true; }
    form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
    const btn = form.querySelector('[type=submit]');
    if (btn) btn.disabled = true;
    try {
      const data = await api(form.dataset.method || 'POST', form.dataset.api, formBody(form));
      if (form.dataset.reveal) {
        const box = document.querySelector(form.dataset.reveal);
        box.querySelectorAll('[data-field]').forEach((el) => { el.textContent = data?.[el.dataset.field] ?? ''; });
        box.hidden = false;
        form.reset();
      } else if (form.dataset.done) {
        document.querySelector(form.dataset.done).hidden = false;
        if (!('keep' in form.dataset)) form.querySelectorAll('input[type=password]').forEach((i) => { i.value = ''; });
      } else if (form.dataset.redirect) {
        window.location.assign(fill(form.dataset.redirect, data));
      } else {
        window.location.reload();
      }
    } catch (e) {
      if (err) { err.textContent = e.message; err.hidden = false; } else window.alert(e.message);
      if (e.field) form.querySelector(`[name="${CSS.escape(e.field)}"]`)?.setAttribute('aria-invalid', 'true');
    } finally {
      if (btn) btn.disabled = false;
    }
  }

  document.addEventListener('submit', (ev) => {
    const form = ev.target.closest('form[data-api]');
    if (!form) return;
    ev.preventDefault();
    submit(form);
  });

  document.addEventListener('change', (ev) => {
    const t = ev.target;
    if (t.matches('select[data-nav]') && t.value) window.location.assign(t.value);
    const form = t.closest('form[data-autosubmit]');
    if (form) submit(form);
  });

  // Model pull on the admin Models page: follow Ollama's progress events.
  document.getElementById('pull')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ev.target.elements.name.value.trim();
    const status = document.getElementById('pull-status'), bar = document.getElementById('pull-progress');
    status.textContent = `Pulling ${name}…`; bar.hidden = false;
    const res = await fetch('/api/admin/models/pull', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ name }) });
    if (!res.ok) { const d = await res.json().catch(() => null); status.textContent = d?.error?.message || 'The pull failed.'; return; }
    const reader = res.body.getReader(), dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const raw = buf.slice(0, i); buf = buf.slice(i + 2);
        const evName = /^event: (.*)$/m.exec(raw)?.[1], data = JSON.parse(/^data: (.*)$/m.exec(raw)?.[1] || 'null');
        if (evName === 'progress') { status.textContent = data.status; if (data.total) bar.value = (data.completed / data.total) * 100; }
        else if (evName === 'error') status.textContent = data.message;
        else if (evName === 'done') { status.textContent = `${data.name} is ready.`; setTimeout(() => window.location.reload(), 800); }
      }
    }
  });

  document.addEventListener('click', (ev) => {
    if (!ev.target.closest('[data-theme-toggle]')) return;
    const dark = document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('quire-theme', next);
  });
})();
