// home: the welcome page, and a short tour of the other demo apps.
//
// Isolation "shadow": the shell adopts home.css into the shadow root of
// <home-app>, so the .card rules below style these cards only. The catalog
// has a .card class too, styled nothing like this one; neither can reach the
// other.

// What each stop of the tour shows. Versions and links come from the live
// manifest at mount time, so a release shows up here.
const TOUR = [
  {
    name: 'home',
    feature: 'Custom properties on :host',
    text: 'This page. Its colours are custom properties set on :host, the <home-app> element: they reach everything in its shadow root, and nothing outside it.',
    hint: 'In DevTools, expand <home-app> and open its #shadow-root.',
  },
  {
    name: 'catalog',
    feature: 'Shadow DOM',
    text: 'Its product cards use the class .card too, and look nothing like these. Each app’s styles live in its own shadow root, so neither app can restyle the other.',
    hint: 'Add something to the cart: the button emits a cart:added event and writes to the shared store.',
  },
  {
    name: 'cart',
    feature: 'Scoped CSS',
    text: 'Written with plain selectors: h1, button, .card, :root. On publish, mfshell writes cart.scoped.css beside it, every rule confined to <cart-app>; the shell loads that copy.',
    hint: 'In DevTools, open cart.scoped.css in the Network panel and compare it with cart.css.',
  },
  {
    name: 'legacy',
    feature: 'Teardown',
    text: 'An old classic script that never cleans up: listeners, an interval, a global, a node in <body>. The shell records what it adds and removes all of it when you leave.',
    hint: 'Open DevTools, look at mfshell.resources(\'legacy\') before and after leaving.',
  },
];

// h builds an element. Children that are strings become text nodes, so
// nothing here is ever parsed as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  el.append(...children.filter((child) => child != null));
  return el;
}

function card(stop, entry, here) {
  const route = entry?.route || `/${stop.name}`;
  return h('article', { class: 'card' },
    h('p', { class: 'feature' }, stop.feature),
    h('h2', {}, stop.name),
    h('p', {}, stop.text),
    h('p', { class: 'hint' }, stop.hint),
    h('footer', {},
      h('span', { class: entry ? 'version' : 'version missing' },
        entry ? `live ${entry.version}` : 'not in the manifest'),
      stop.name === here ? h('span', { class: 'here' }, 'You are here') : h('a', { href: route }, `Open ${stop.name} →`)));
}

export function mount(props) {
  // The manifest may be absent (an older runtime, or this app mounted on its
  // own for a test): the tour still renders, without versions.
  const apps = props.mfshell?.manifest?.apps ?? {};
  props.domElement.replaceChildren(h('div', { class: 'home' },
    h('header', { class: 'hero' },
      h('p', { class: 'eyebrow' }, 'mfshell demo'),
      h('h1', {}, 'One page, many apps'),
      h('p', { class: 'lead' },
        'Every page of this site is a separate app: published on its own, versioned on its own, ' +
        'and loaded by a small runtime in the shell page. Move between them and it feels like one site. ' +
        'Each card below shows one thing mfshell does for you.')),
    h('section', { class: 'tour' }, ...TOUR.map((stop) => card(stop, apps[stop.name], props.name))),
    h('section', { class: 'release' },
      h('h2', {}, 'Ship a new version'),
      h('p', {},
        'catalog 1.1.0 is already published, but not live. Release it with the admin token ' +
        'that mfshell serve printed on its first run, and open pages switch to it:'),
      h('pre', {}, h('code', {}, 'mfshell release catalog 1.1.0\nmfshell history --app catalog\nmfshell rollback REVISION')),
      h('p', {}, 'Every change is a new revision with who, when and why; a rollback is one more.')),
    h('footer', { class: 'colophon' },
      `${props.name} ${props.version} · rendered in a shadow root`)));
}

export function unmount(props) {
  props.domElement.replaceChildren();
}
