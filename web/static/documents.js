// The Documents page: drag-and-drop uploads with a progress bar per file
// (XMLHttpRequest reports upload progress; fetch does not), then live status
// of every document still being processed.
(() => {
  'use strict';
  const zone = document.getElementById('dropzone');
  if (!zone) return;
  const ws = zone.dataset.ws;
  const maxBytes = Number(zone.dataset.maxMb) * 1024 * 1024;
  const list = document.getElementById('uploads');
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function upload(file) {
    const li = document.createElement('li');
    li.innerHTML = `<span class="name">${esc(file.name)}</span><progress max="100" value="0"></progress><span class="upload-msg muted small">waiting…</span>`;
    list.appendChild(li);
    const bar = li.querySelector('progress'), msg = li.querySelector('.upload-msg');
    if (file.size > maxBytes) { msg.textContent = `too large: the limit is ${zone.dataset.maxMb} MB`; li.classList.add('failed'); return Promise.resolve(); }
    return new Promise((resolve) => {
      const fd = new FormData();
      fd.append('file', file);
      const kb = document.getElementById('upload-kb')?.value;
      if (kb) fd.append('knowledge_base_ids', kb);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/workspaces/${ws}/documents`);
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.value = (e.loaded / e.total) * 100; msg.textContent = `uploading ${Math.round(bar.value)}%`; } };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 202) { bar.value = 100; msg.textContent = 'uploaded — processing'; li.classList.add('done'); addRow(data); }
        else { msg.textContent = data?.error?.message || `failed (HTTP ${xhr.status})`; li.classList.add('failed'); }
        resolve();
      };
      xhr.onerror = () => { msg.textContent = 'the upload was interrupted; check your connection'; li.classList.add('failed'); resolve(); };
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
  function addRow(d) {
    if (!d || !tbody) return;
    tbody.querySelector('tr.none')?.remove();
    const tr = document.createElement('tr');
    tr.dataset.doc = d.id; tr.dataset.status = d.status;
    tr.innerHTML = `<td><a href="/w/${ws}/documents/${esc(d.id)}">${esc(d.name)}</a></td><td>${esc(d.file_size_text)}</td>
      <td class="status">${statusHTML(d)}</td><td class="chunks">${d.chunk_count}</td><td>just now</td>`;
    tbody.prepend(tr);
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    const busy = [...document.querySelectorAll('#documents tr[data-status="pending"], #documents tr[data-status="processing"]')];
    if (!busy.length) return;
    for (const tr of busy) {
      const res = await fetch(`/api/workspaces/${ws}/documents/${tr.dataset.doc}`, { credentials: 'same-origin' });
      if (!res.ok) continue;
      const d = await res.json();
      tr.dataset.status = d.status;
      tr.querySelector('.status').innerHTML = statusHTML(d);
      tr.querySelector('.chunks').textContent = d.chunk_count;
    }
    timer = setTimeout(poll, 1000);
  }

  ['dragenter', 'dragover'].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add('over'); }));
  ['dragleave', 'drop'].forEach((t) => zone.addEventListener(t, () => zone.classList.remove('over')));
  zone.addEventListener('drop', (e) => { e.preventDefault(); uploadAll([...e.dataTransfer.files]); });
  document.getElementById('file-input').addEventListener('change', (e) => { uploadAll([...e.target.files]); e.target.value = ''; });
  poll();
})();
