// catalog: a small product list, and a detail page per item at /catalog/SKU.
//
// Isolation "shadow", like home: both apps style a class named .card, and
// each sees only its own rules. "Add to cart" talks to other apps only
// through the shell: the shared store holds the cart, and a cart:added event
// tells whoever is listening right now.

// Each product is drawn with a few SVG shapes in a 100×100 box: no images to fetch.
const PRODUCTS = [
  { sku: 'mug', name: 'Stoneware mug', price: 18, color: '#b9714f',
    blurb: 'Glazed by hand, with a handle that fits two fingers.',
    art: [['rect', { x: 26, y: 30, width: 38, height: 44, rx: 7 }],
      ['path', { d: 'M64 40h6a9 9 0 0 1 0 18h-6', fill: 'none', 'stroke-width': 6 }]] },
  { sku: 'teapot', name: 'Round teapot', price: 42, color: '#3f7f74',
    blurb: 'Brews four cups; the lid stays put when you pour.',
    art: [['circle', { cx: 48, cy: 58, r: 22 }], ['rect', { x: 42, y: 28, width: 12, height: 8, rx: 3 }],
      ['path', { d: 'M68 56l14-12', fill: 'none', 'stroke-width': 6, 'stroke-linecap': 'round' }]] },
  { sku: 'lamp', name: 'Reading lamp', price: 65, color: '#c79a3a',
    blurb: 'A warm, narrow beam for the last chapter before bed.',
    art: [['polygon', { points: '34,24 66,24 76,50 24,50' }], ['rect', { x: 47, y: 50, width: 6, height: 22 }],
      ['ellipse', { cx: 50, cy: 76, rx: 18, ry: 5 }]] },
  { sku: 'plant', name: 'Desk fern', price: 24, color: '#5d8a4e',
    blurb: 'Forgiving about light, grateful for water on Sundays.',
    art: [['ellipse', { cx: 40, cy: 38, rx: 8, ry: 16, transform: 'rotate(-25 40 38)' }],
      ['ellipse', { cx: 60, cy: 38, rx: 8, ry: 16, transform: 'rotate(25 60 38)' }],
      ['polygon', { points: '32,54 68,54 62,78 38,78' }]] },
  { sku: 'notebook', name: 'Linen notebook', price: 14, color: '#5b6fa6',
    blurb: 'Dotted pages that lie flat, bound in washed linen.',
    art: [['rect', { x: 30, y: 22, width: 40, height: 56, rx: 4 }],
      ['path', { d: 'M38 38h24M38 48h24M38 58h16', stroke: '#fff', 'stroke-width': 3 }]] },
];

const mounted = new WeakMap(); // domElement → AbortController of that mount

// h builds an element ("svg:NAME" for SVG); string children become text
// nodes, never HTML.
function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  el.append(...children.filter((child) => child != null));
  return el;
}

// art draws a product on a soft disc of its own colour.
const art = (p) => h('div', { class: 'art' },
  h('svg:svg', { viewBox: '0 0 100 100', 'aria-hidden': 'true' },
    h('svg:g', { fill: p.color, stroke: p.color },
      h('svg:circle', { cx: 50, cy: 50, r: 47, stroke: 'none', 'fill-opacity': 0.13 }),
      ...p.art.map(([tag, attrs]) => h(`svg:${tag}`, attrs)))));

// base is where this app is routed: /catalog unless ops chose another route.
const base = (props) => (props.mfshell?.manifest?.apps?.[props.name]?.route || '/catalog').replace(/\/$/, '');
// The cart lives in the shared store under "cart": a list of {sku, name}.
function cartItems(props) {
  const items = props.mfshell?.store?.get?.('cart');
  return Array.isArray(items) ? items : [];
}
const cartText = (props) => (props.mfshell?.store ? `In your cart: ${cartItems(props).length}` : '');

function addToCart(props, product) {
  const item = { sku: product.sku, name: product.name };
  const store = props.mfshell?.store;
  // The store outlives this mount, so the cart app sees the item later even
  // though it is not on the page now; the event reaches apps mounted now.
  store?.set?.('cart', [...cartItems(props), item]);
  props.mfshell?.emit?.('cart:added', item);
  const root = props.domElement;
  root.querySelector('.cart-size').textContent = cartText(props);
  root.querySelector('.message').textContent = `${product.name} is in your cart.`;
}

function productCard(props, p, wide) {
  const add = h('button', { type: 'button' }, 'Add to cart');
  add.addEventListener('click', () => addToCart(props, p));
  const link = (...children) => h('a', { href: `${base(props)}/${p.sku}` }, ...children);
  return h(wide ? 'div' : 'li', { class: wide ? 'card wide' : 'card' },
    wide ? art(p) : link(art(p)),
    h('div', { class: 'about' }, h('h2', {}, wide ? p.name : link(p.name)),
      wide ? h('p', {}, p.blurb) : null, h('p', { class: 'price' }, `$${p.price}`), add));
}

function view(props, sku) {
  if (!sku) return h('ul', { class: 'grid' }, ...PRODUCTS.map((p) => productCard(props, p, false)));
  const product = PRODUCTS.find((p) => p.sku === sku);
  return h('div', { class: 'detail' }, h('a', { href: base(props), class: 'back' }, '← All products'),
    product ? productCard(props, product, true) : h('p', {}, `There is no product “${sku}”.`));
}

function render(props) {
  if (!mounted.has(props.domElement)) return;
  const prefix = `${base(props)}/`;
  const sku = location.pathname.startsWith(prefix) ? location.pathname.slice(prefix.length).split('/')[0] : '';
  props.domElement.replaceChildren(h('div', { class: 'catalog' },
    h('header', {}, h('h1', {}, 'Catalog'), h('p', { class: 'cart-size' }, cartText(props))),
    h('p', { class: 'message', role: 'status' }),
    view(props, sku),
    h('footer', {}, `${props.name} ${props.version}`)));
}

export function mount(props) {
  const controller = new AbortController();
  mounted.set(props.domElement, controller);
  // Moving between /catalog and /catalog/SKU stays inside this app: handle
  // those links here, so the page updates whether or not the shell remounts.
  props.domElement.addEventListener('click', (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest?.('a[href]');
    const path = link && new URL(link.href, location.href).pathname;
    if (!path || !(path === base(props) || path.startsWith(`${base(props)}/`))) return;
    event.preventDefault();
    if (props.mfshell?.navigate) props.mfshell.navigate(path);
    else history.pushState(null, '', path);
    render(props);
  }, { signal: controller.signal });
  window.addEventListener('popstate', () => render(props), { signal: controller.signal });
  render(props);
}

export function unmount(props) {
  mounted.get(props.domElement)?.abort();
  mounted.delete(props.domElement);
  props.domElement.replaceChildren();
}
