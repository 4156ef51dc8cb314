/*
 * legacy: an old-style classic script, the kind many sites still ship.
 *
 * It knows nothing about mfshell: no mfshell.register, no unmount. When it
 * runs, it renders into its template, <div id="legacy-root"></div> inside
 * <legacy-app>, and then it leaks, on purpose: a window resize listener, a
 * document click listener, a setInterval clock, a global (window.legacyState)
 * and a toast <div> appended to document.body. It never cleans up; the shell
 * does. On every visit the shell runs this file again, from scratch.
 *
 * Everything is inside a function: a top-level let or const in a classic
 * script is a global binding, and running the file again would throw.
 */
(function () {
  'use strict';

  var root = document.getElementById('legacy-root');
  if (!root) return;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // Leak 1: a global. The shell notices new properties on window.
  var state = window.legacyState = { clicks: 0, ticks: 0 };

  var rows = {};
  var table = el('table', 'legacy-table');
  var head = table.insertRow();
  head.appendChild(el('th', '', 'What this app leaks'));
  head.appendChild(el('th', '', 'Live value'));
  [
    ['resize', 'a "resize" listener on window'],
    ['click', 'a "click" listener on document'],
    ['clock', 'a setInterval clock'],
    ['global', 'a global, window.legacyState'],
    ['toast', 'a <div> appended to document.body']
  ].forEach(function (row) {
    var tr = table.insertRow();
    tr.appendChild(el('td', '', row[1]));
    rows[row[0]] = tr.appendChild(el('td', 'legacy-value'));
  });

  var resources = el('p', 'legacy-resources');
  root.replaceChildren(
    el('h1', 'legacy-title', 'Legacy widget'),
    el('p', 'legacy-lead', 'This app is a classic script from another era. It never cleans up; the shell does.'),
    table,
    el('h2', 'legacy-subtitle', 'What the shell holds for this app right now'),
    resources,
    el('p', 'legacy-hint', 'Open DevTools and run mfshell.resources(\'legacy\'). Then go to another page ' +
      'and run it again: all zeros, window.legacyState is undefined and the toast is gone.')
  );

  function showSize() {
    rows.resize.textContent = window.innerWidth + ' × ' + window.innerHeight + ' px';
  }
  function showState() {
    rows.click.textContent = state.clicks + ' click' + (state.clicks === 1 ? '' : 's') + ' anywhere on the page';
    rows.global.textContent = JSON.stringify(state);
  }
  function tick() {
    state.ticks += 1;
    rows.clock.textContent = new Date().toLocaleTimeString();
    showState();
    var shell = window.mfshell;
    var held = shell && typeof shell.resources === 'function' ? shell.resources('legacy') : null;
    resources.textContent = held
      ? Object.keys(held).map(function (kind) { return kind + ' ' + held[kind]; }).join(' · ')
      : 'mfshell.resources is not available in this runtime.';
  }

  // Leak 2: a window listener, never removed.
  window.addEventListener('resize', showSize);

  // Leak 3: a document listener, never removed. It counts clicks in other
  // apps too, for as long as it lives.
  document.addEventListener('click', function () {
    state.clicks += 1;
    showState();
  });

  // Leak 4: an interval, never cleared.
  setInterval(tick, 1000);

  // Leak 5: a node outside the app's element, never removed.
  var toast = el('div', 'legacy-toast', 'Hello from the legacy app. I live in <body>, outside <legacy-app>.');
  document.body.appendChild(toast);
  rows.toast.textContent = 'bottom right corner';

  showSize();
  tick();
})();
