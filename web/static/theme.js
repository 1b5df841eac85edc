// Applied before first paint so the page never flashes the wrong theme, and
// marks the page as scripted so the phone menu can start folded (without
// script the links stay shown).
(function () {
  var root = document.documentElement;
  root.classList.add('js');
  var t = localStorage.getItem('quire-theme');
  if (t === 'dark' || t === 'light') root.dataset.theme = t;
})();
