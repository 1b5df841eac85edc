// The Documents page: drag-and-drop uploads with a progress bar per file
// (XMLHttpRequest reports upload progress; fetch does not), live status of
// every document still being processed, and bulk actions on a selection.
(() => {
  'use strict';
  const zone = document.getElementById('dropzone');
  if (!zone) return;
  const ws = zone.dataset.ws;
  const maxBytes = Number(zone.dataset.maxMb) * 1024 * 1024;
  const list = document.getElementById('uploads');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  // refuse marks an upload that did not go through: the bar gives way to a
  // "Not uploaded" badge, so a refused file never looks like a finished one.
  function refuse(li, reason) {
    li.classList.add('failed');
    li.querySelector('progress')?.replaceWith(Object.assign(document.createElement('span'), { className: 'badge st-failed', textContent: 'Not uploaded' }));
    li.querySelector('.upload-msg').textContent = reason;
  }

  function upload(file) {
    const li = document.createElement('li');
    li.innerHTML = `<span class="name">${esc(file.name)}</span><progress max="100" value="0"></progress><span class="upload-msg muted small">waiting…</span>`;
    list.appendChild(li);
    const bar = li.querySelector('progress'), msg = li.querySelector('.upload-msg');
    if (file.size > maxBytes) { refuse(li, `Too large: the limit is ${zone.dataset.maxMb} MB.`); return Promise.resolve(); }
    return new Promise((resolve) => {
      const fd = new FormData();
      fd.append('file', file);
      const kb = document.getElementById('upload-kb');
      if (kb?.value) fd.append('knowledge_base_ids', kb.value);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/workspaces/${ws}/documents`);
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = (e.loaded / e.total) * 100; msg.textContent = `uploading ${Math.round(bar.value)}%`; } };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 202 && data) {
          bar.value = 100;
          msg.textContent = 'uploaded — processing';
          li.classList.add('done');
          li.dataset.doc = data.id;
          addRow(data, kb?.value ? [{ id: kb.value, name: kb.selectedOptions[0].textContent }] : []);
        } else refuse(li, data?.error?.message || `The upload failed (HTTP ${xhr.status}).`);
        resolve();
      };
      xhr.onerror = () => { refuse(li, 'The upload was interrupted; check your connection and try again.'); resolve(); };
      xhr.send(fd);
    });
  }

  async function uploadAll(files) {
    for (const f of files) await upload(f); // one at a time keeps the server and the progress readable
    poll();
  }

  const tbody = document.querySelector('#documents tbody');
  function statusHTML(d) {
    let s = `<span class="badge st-${esc(d.status)}">${esc(d.status)}${d.status === 'processing' ? ' ' + d.progress + '%' : ''}</span>`;
    if (d.vectors_pending) s += ' <span class="muted small">keyword search only — vectors wait for the model server</span>';
    else if (d.processing_error) s += ` <span class="error small">${esc(d.processing_error)}</span>`;
    return s;
  }
  function chip(kb) { return `<span class="kb-tag" data-kb="${esc(kb.id)}">${esc(kb.name)}</span>`; }
  function addRow(d, kbs) {
    if (!tbody) return;
    tbody.querySelector('tr.none')?.remove();
    const tr = document.createElement('tr');
    tr.dataset.doc = d.id; tr.dataset.status = d.status;
    tr.innerHTML = `<td class="pick"><input type="checkbox" class="pick-doc" value="${esc(d.id)}" aria-label="Select ${esc(d.name)}"></td>
      <td class="doc-name"><a href="/w/${ws}/documents/${esc(d.id)}">${esc(d.name)}</a></td><td class="kbs">${kbs.map(chip).join('')}</td>
      <td class="size">${esc(d.file_size_text)}</td><td class="status">${statusHTML(d)}</td><td class="chunks">${d.chunk_count}</td><td class="added">just now</td>`;
    tbody.prepend(tr);
    document.getElementById('pick-all').disabled = false;
    updateSelection();
  }

  // showUploadState follows a document after its upload until it is ready or
  // failed, so "processing" never stays on a finished document.
  function showUploadState(d) {
    const li = list.querySelector(`li[data-doc="${CSS.escape(d.id)}"]`);
    if (!li) return;
    const msg = li.querySelector('.upload-msg');
    if (d.status === 'ready') {
      li.classList.add('ready');
      msg.textContent = `ready — ${plural(d.chunk_count, 'chunk', 'chunks')}${d.vectors_pending ? '; keyword search only until the model server is back' : ''}`;
    } else if (d.status === 'failed') {
      refuse(li, `Processing failed: ${d.processing_error || 'no reason given'}`);
      li.querySelector('.badge').textContent = 'Failed';
    } else msg.textContent = d.status === 'processing' ? `processing ${d.progress}%` : 'uploaded — waiting to be processed';
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    const busy = [...document.querySelectorAll('#documents tr[data-status="pending"], #documents tr[data-status="processing"]')];
    if (!busy.length) return;
    for (const tr of busy) {
      let res;
      try { res = await fetch(`/api/workspaces/${ws}/documents/${tr.dataset.doc}`, { credentials: 'same-origin' }); } catch { continue; }
      if (res.status === 404) { tr.dataset.status = 'gone'; continue; } // deleted meanwhile: stop asking
      if (!res.ok) continue;
      const d = await res.json();
      tr.dataset.status = d.status;
      tr.querySelector('.status').innerHTML = statusHTML(d);
      tr.querySelector('.chunks').textContent = d.chunk_count;
      showUploadState(d);
    }
    timer = setTimeout(poll, 1000);
  }

  ['dragenter', 'dragover'].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add('over'); }));
  ['dragleave', 'drop'].forEach((t) => zone.addEventListener(t, () => zone.classList.remove('over')));
  zone.addEventListener('drop', (e) => { e.preventDefault(); uploadAll([...e.dataTransfer.files]); });
  document.getElementById('file-input').addEventListener('change', (e) => { uploadAll([...e.target.files]); e.target.value = ''; });

  // Selection: a box per row, one for all, Shift-click for a range.
  const pickAll = document.getElementById('pick-all');
  const count = document.getElementById('bulk-count');
  const summary = document.getElementById('bulk-summary');
  const actions = [...document.querySelectorAll('[data-bulk]')];
  const boxes = () => [...tbody.querySelectorAll('input.pick-doc')];
  const picked = () => boxes().filter((b) => b.checked);
  let anchor = null; // the last box clicked without Shift

  function updateSelection() {
    const all = boxes(), n = picked().length;
    count.textContent = n ? `${plural(n, 'document', 'documents')} selected` : 'None selected';
    pickAll.checked = n > 0 && n === all.length;
    pickAll.indeterminate = n > 0 && n < all.length;
    for (const b of actions) b.disabled = n === 0;
    for (const b of all) b.closest('tr').classList.toggle('picked', b.checked);
  }
  pickAll.addEventListener('change', () => { for (const b of boxes()) b.checked = pickAll.checked; anchor = null; updateSelection(); });
  tbody.addEventListener('click', (e) => {
    const box = e.target.closest('input.pick-doc');
    if (!box) return;
    const all = boxes();
    if (e.shiftKey && anchor && all.includes(anchor)) {
      const [a, b] = [all.indexOf(anchor), all.indexOf(box)].sort((x, y) => x - y);
      for (const other of all.slice(a, b + 1)) other.checked = box.checked;
    } else anchor = box;
    updateSelection();
  });

  // sentence turns the server's counts into what happened, e.g. "7 added to
  // Handbook, 2 were already in it."
  function sentence(action, counts, kbName) {
    const docs = (n) => plural(n, 'document', 'documents');
    const parts = {
      add_to_knowledge_base: { added: (n) => `${n} added to ${kbName}`, already_in: (n) => `${n} ${n === 1 ? 'was' : 'were'} already in it`,
        forbidden: (n) => `${docs(n)} skipped: only the uploader or an admin can share ${n === 1 ? 'it' : 'them'}` },
      remove_from_knowledge_base: { removed: (n) => `${n} removed from ${kbName}`, not_in: (n) => `${n} ${n === 1 ? 'was' : 'were'} not in it` },
      delete: { deleted: (n) => `${docs(n)} deleted`, forbidden: (n) => `${docs(n)} skipped: only the uploader or an admin can delete ${n === 1 ? 'it' : 'them'}` },
      reprocess: { queued: (n) => `${docs(n)} queued for processing again`, busy: (n) => `${n} still being processed — try again in a moment`,
        forbidden: (n) => `${docs(n)} skipped: only the uploader or an admin can reprocess ${n === 1 ? 'it' : 'them'}` },
    }[action];
    const out = Object.entries(parts).filter(([k]) => counts[k]).map(([k, f]) => f(counts[k]));
    if (counts.not_found) out.push(`${plural(counts.not_found, 'document no longer exists', 'documents no longer exist')}`);
    const s = out.join(', ') || 'Nothing changed';
    return s[0].toUpperCase() + s.slice(1) + '.';
  }

  function apply(action, r, kb) {
    for (const it of r.results) {
      const tr = tbody.querySelector(`tr[data-doc="${CSS.escape(it.id)}"]`);
      if (!tr) continue;
      const kbs = tr.querySelector('.kbs');
      if (it.outcome === 'deleted' || it.outcome === 'not_found') tr.remove();
      else if (it.outcome === 'added') kbs.insertAdjacentHTML('beforeend', chip(kb));
      else if (it.outcome === 'removed') kbs.querySelector(`[data-kb="${CSS.escape(kb.id)}"]`)?.remove();
      else if (it.outcome === 'queued') {
        tr.dataset.status = 'pending';
        tr.querySelector('.status').innerHTML = statusHTML({ status: 'pending' });
        tr.querySelector('.chunks').textContent = '0';
      }
    }
    if (!boxes().length) {
      tbody.innerHTML = '<tr class="none"><td colspan="7" class="empty">No documents left.</td></tr>';
      pickAll.disabled = true;
    }
    updateSelection();
    poll();
  }

  for (const button of actions) {
    button.addEventListener('click', async () => {
      const action = button.dataset.bulk, ids = picked().map((b) => b.value);
      if (!ids.length) return;
      if (action === 'delete' && !confirm(`Delete ${plural(ids.length, 'document', 'documents')}? Their files, text and vectors are removed; this cannot be undone.`)) return;
      const sel = document.getElementById('bulk-kb');
      const kb = sel ? { id: sel.value, name: sel.selectedOptions[0]?.textContent } : null;
      for (const b of actions) b.disabled = true;
      summary.hidden = false;
      summary.classList.remove('error');
      summary.textContent = 'Working…';
      try {
        const body = { action, document_ids: ids };
        if (action.endsWith('knowledge_base')) body.knowledge_base_id = kb.id;
        const r = await window.quire.api('POST', `/api/workspaces/${ws}/documents/bulk`, body);
        summary.textContent = sentence(action, r.counts, kb?.name);
        apply(action, r, kb);
      } catch (e) {
        summary.classList.add('error');
        summary.textContent = e.message;
        updateSelection();
      }
      if (button.disabled) { summary.tabIndex = -1; summary.focus(); } // the pressed button went away with the selection
    });
  }
  updateSelection();
  poll();
})();
