// Billing buttons: ask the API for a Stripe Checkout or customer-portal URL,
// then leave for Stripe. (A plain form post could not: the page's CSP
// form-action 'self' blocks redirects to another origin.)
(() => {
  'use strict';
  document.addEventListener('submit', async (ev) => {
    const form = ev.target.closest('form[data-billing]');
    if (!form) return;
    ev.preventDefault();
    const err = form.querySelector('.form-error');
    const btn = form.querySelector('[type=submit]');
    if (err) err.hidden = true;
    if (btn) btn.disabled = true;
    const body = {};
    for (const el of form.elements) if (el.name) body[el.name] = el.value;
    try {
      const data = await window.quire.api('POST', form.dataset.billing, Object.keys(body).length ? body : undefined);
      window.location.assign(data.url);
    } catch (e) {
      if (err) { err.textContent = e.message; err.hidden = false; } else window.alert(e.message);
      if (btn) btn.disabled = false;
    }
  });
})();
