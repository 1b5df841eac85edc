// Applied before first paint so the page never flashes the wrong theme.
(function () {
  var t = localStorage.getItem('quire-theme');
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
})();
