// cart: what you added in the catalog.
//
// Isolation "scoped": no shadow root, this markup lives in the page itself.
// cart.css is written with ordinary selectors (h1, button, .card, :root);
// on publish mfshell writes cart.scoped.css, where every rule is confined to
// <cart-app>, and the shell loads that copy. Inspect an h1 here in DevTools
// to see the rewritten selector.
//
// The cart lives in the shell's shared store under "cart", a list of
// {sku, name}: the catalog writes to it while this app is not even loaded.
// The cart:added event tells this app about additions while it is mounted.

// Without a store (an older runtime), the cart lives in this module only:
// the events are then the only way items arrive.
const local = [];
const mounted = new WeakMap(); // domElement → cleanup of that mount

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  el.append(...children.filter((child) => child != null));
  return el;
}

function read(store) {
  if (!store?.get) return local;
  const items = store.get('cart');
  return Array.isArray(items) ? items : [];
}

function write(store, items) {
  if (store?.set) store.set('cart', items);
  else local.splice(0, local.length, ...items);
}

const catalogRoute = (props) => props.mfshell?.manifest?.apps?.catalog?.route || '/catalog';

// lines groups the items by sku, in the order they were first added.
function lines(items) {
  const bySku = new Map();
  for (const item of items) {
    const line = bySku.get(item.sku) ?? { sku: item.sku, name: item.name ?? item.sku, count: 0 };
    line.count += 1;
    bySku.set(item.sku, line);
  }
  return [...bySku.values()];
}

function render(props, fresh = '') {
  const store = props.mfshell?.store;
  const items = read(store);
  const removeOne = (sku) => {
    const at = items.findIndex((item) => item.sku === sku);
    write(store, items.filter((_, i) => i !== at));
    render(props);
  };
  const rows = lines(items).map((line) => {
    const remove = h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove one ${line.name}` }, 'Remove');
    remove.addEventListener('click', () => removeOne(line.sku));
    return h('li', { class: line.sku === fresh ? 'line fresh' : 'line' },
      h('span', { class: 'name' }, line.name), h('span', { class: 'count' }, `× ${line.count}`), remove);
  });
  const empty = h('button', { type: 'button' }, 'Empty the cart');
  empty.addEventListener('click', () => { write(store, []); render(props); });
  props.domElement.replaceChildren(h('section', { class: 'card' },
    h('h1', {}, 'Your cart'),
    rows.length
      ? h('ul', {}, ...rows)
      : h('p', { class: 'empty' }, 'Nothing here yet. ', h('a', { href: catalogRoute(props) }, 'Browse the catalog'), '.'),
    h('footer', {}, h('span', {}, `${items.length} item${items.length === 1 ? '' : 's'}`), rows.length ? empty : null),
    h('p', { class: 'note' }, `${props.name} ${props.version} · styles scoped to <cart-app>`)));
}

export function mount(props) {
  const { mfshell } = props;
  // Handlers may receive the detail or the CustomEvent carrying it.
  const off = mfshell?.on?.('cart:added', (arg) => {
    const item = arg instanceof CustomEvent ? arg.detail : arg;
    if (!item?.sku) return;
    if (!mfshell.store) local.push(item); // with a store, the sender already wrote it
    render(props, item.sku);
  });
  // Another app may change the store while the cart is shown. (Assumed
  // store API: get(key), set(key, value), subscribe(fn) → unsubscribe.)
  const unsubscribe = mfshell?.store?.subscribe?.(() => render(props));
  mounted.set(props.domElement, () => {
    if (typeof off === 'function') off();
    if (typeof unsubscribe === 'function') unsubscribe();
  });
  render(props);
}

export function unmount(props) {
  // The shell drops this app's handlers on unmount anyway; a good app
  // does not rely on it.
  mounted.get(props.domElement)?.();
  mounted.delete(props.domElement);
  props.domElement.replaceChildren();
}
