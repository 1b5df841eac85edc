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
      const e = new Error(data?.error?.message || `The server could not do this (error ${res.status}). Try again in a moment.`);
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

  // submit sends a form; changed is the control whose change sent it (an
  // autosubmit form), put back as it was when the server refuses the change,
  // so the page never shows a state that was not saved.
  async function submit(form, changed) {
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
      if (changed?.type === 'checkbox') changed.checked = !changed.checked;
      else if (changed?.tagName === 'SELECT') {
        for (const o of changed.options) o.selected = o.defaultSelected;
      }
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
    const form = t.closest('form[data-autosubmit]');
    if (form) submit(form, t);
  });

  // Model pull on the admin Models page: follow Ollama's progress events. A
  // failure turns the bar full and red with the reason next to it, so an
  // empty bar never looks like a pull still starting.
  document.getElementById('pull')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ev.target.elements.name.value.trim(), host = ev.target.elements.host?.value || '';
    const status = document.getElementById('pull-status'), bar = document.getElementById('pull-progress');
    const btn = ev.target.querySelector('button[type=submit]');
    const fail = (message) => {
      status.textContent = message; status.classList.add('error'); status.setAttribute('role', 'alert');
      bar.value = bar.max; bar.classList.add('failed'); bar.setAttribute('aria-label', 'Pull failed');
    };
    status.textContent = `Pulling ${name}…`; status.classList.remove('error'); status.removeAttribute('role');
    bar.hidden = false; bar.value = 0; bar.classList.remove('failed'); bar.setAttribute('aria-label', `Pulling ${name}`);
    btn.disabled = true;
    try {
      let res;
      try {
        res = await fetch('/api/admin/models/pull', { method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ name, host }) });
      } catch {
        fail('Cannot reach the Quire server. Check your connection and try again.');
        return;
      }
      if (!res.ok) { const d = await res.json().catch(() => null); fail(d?.error?.message || `The pull failed (HTTP ${res.status}).`); return; }
      const reader = res.body.getReader(), dec = new TextDecoder();
      let buf = '', finished = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const raw = buf.slice(0, i); buf = buf.slice(i + 2);
          const evName = /^event: (.*)$/m.exec(raw)?.[1], data = JSON.parse(/^data: (.*)$/m.exec(raw)?.[1] || 'null');
          if (evName === 'progress') { status.textContent = data.host ? `${data.host}: ${data.status}` : data.status; if (data.total) bar.value = (data.completed / data.total) * 100; }
          else if (evName === 'error') { finished = true; fail(data.message); }
          else if (evName === 'done') { finished = true; bar.value = bar.max; status.textContent = `${data.name} is ready.`; setTimeout(() => window.location.reload(), 800); }
        }
      }
      if (!finished) fail(`The connection closed before ${name} finished; reload the page to see whether it is installed.`);
    } finally {
      btn.disabled = false;
    }
  });

  // Copy buttons: [data-copy] names the element whose text is copied. Where
  // the clipboard is refused, the text is selected for Ctrl+C instead.
  document.addEventListener('click', async (ev) => {
    const btn = ev.target.closest('button[data-copy]');
    if (!btn) return;
    const src = document.querySelector(btn.dataset.copy);
    if (!src) return;
    btn.dataset.label ||= btn.textContent;
    try {
      await navigator.clipboard.writeText(src.textContent);
      btn.textContent = 'Copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(src);
      getSelection().removeAllRanges(); getSelection().addRange(range);
      btn.textContent = 'Selected: press Ctrl+C';
    }
    setTimeout(() => { btn.textContent = btn.dataset.label; }, 2500);
  });

  // The frame: theme, skip links, the phone menu, the workspace menu and arrow keys.
  const root = document.documentElement;
  const isDark = () => root.dataset.theme === 'dark' ||
    (!root.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
  const showTheme = () => document.querySelectorAll('[data-theme-toggle]').forEach((b) => b.setAttribute('aria-pressed', String(isDark())));
  showTheme();
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', showTheme);

  // A skip link whose target is not on this page (a read-only chat has no
  // question box) would lead nowhere. Following one moves focus, not only the
  // scroll position, so the next Tab continues from there.
  document.querySelectorAll('.skip-link').forEach((a) => {
    const target = document.getElementById(a.hash.slice(1));
    if (!target) { a.remove(); return; }
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      target.focus();
      target.scrollIntoView({ block: 'nearest' });
    });
  });

  const sidebar = document.querySelector('.sidebar');
  const toggle = document.getElementById('menu-toggle');
  const focusables = (box) => [...box.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), select, textarea')]
    .filter((el) => el.getClientRects().length > 0);

  function setMenu(open, { focus = false } = {}) {
    if (!sidebar || !toggle) return;
    sidebar.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
    if (open && focus) focusables(document.getElementById('sidebar-body'))[0]?.focus();
    if (!open && focus) toggle.focus();
  }
  toggle?.addEventListener('click', () => setMenu(toggle.getAttribute('aria-expanded') !== 'true', { focus: true }));
  // The open menu covers the page: leaving it by Tab, a click elsewhere or Escape folds it.
  sidebar?.addEventListener('focusout', (ev) => {
    if (toggle?.getAttribute('aria-expanded') === 'true' && ev.relatedTarget && !sidebar.contains(ev.relatedTarget)) setMenu(false);
  });

  const wsToggle = document.getElementById('ws-toggle');
  const wsMenu = document.getElementById('ws-menu');
  const items = () => [...wsMenu.querySelectorAll('[role=menuitem]')];
  function setSwitcher(open, which) {
    wsMenu.hidden = !open;
    wsToggle.setAttribute('aria-expanded', String(open));
    if (open) { const all = items(); (which === 'last' ? all[all.length - 1] : all[0])?.focus(); }
  }
  wsToggle?.addEventListener('click', () => setSwitcher(wsMenu.hidden));
  wsToggle?.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      setSwitcher(true, ev.key === 'ArrowUp' ? 'last' : 'first');
    }
  });
  wsMenu?.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { ev.stopPropagation(); setSwitcher(false); wsToggle.focus(); return; }
    if (ev.key === 'Tab') { setSwitcher(false); return; }
    moveFocus(ev, items());
  });

  // moveFocus handles the arrow, Home and End keys in a list of items, wrapping at the ends.
  function moveFocus(ev, list) {
    const i = list.indexOf(document.activeElement);
    let next;
    if (ev.key === 'ArrowDown') next = (i + 1) % list.length;
    else if (ev.key === 'ArrowUp') next = (i - 1 + list.length) % list.length;
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = list.length - 1;
    else return;
    ev.preventDefault();
    list[next]?.focus();
  }
  document.querySelectorAll('nav[data-arrows]').forEach((nav) => {
    nav.addEventListener('keydown', (ev) => {
      if (ev.target.closest('a, button')) moveFocus(ev, focusables(nav).filter((el) => el.matches('a, button')));
    });
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    if (wsMenu && !wsMenu.hidden) { setSwitcher(false); wsToggle.focus(); }
    else if (toggle?.getAttribute('aria-expanded') === 'true') setMenu(false, { focus: true });
  });

  document.addEventListener('click', (ev) => {
    if (wsMenu && !wsMenu.hidden && !ev.target.closest('.switcher')) setSwitcher(false);
    if (sidebar?.classList.contains('open') && !sidebar.contains(ev.target)) setMenu(false);
    if (!ev.target.closest('[data-theme-toggle]')) return;
    const next = isDark() ? 'light' : 'dark';
    root.dataset.theme = next;
    localStorage.setItem('quire-theme', next);
    showTheme();
  });
})();
