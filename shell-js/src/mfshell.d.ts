// The public face of the mfshell runtime: window.mfshell, the props an app's
// lifecycles receive, the manifest they can read, and the events the shell
// dispatches on window. Internal types live beside the code that uses them.

/** AppEntry is one app in the public manifest (DESIGN.md, "the manifest"). */
export interface AppEntry {
  version: string;
  /** Path prefix the app owns; "" means not routed (mounted only where its element is placed). */
  route: string;
  entry?: string;
  styles: string[];
  format: "module" | "script" | "html";
  isolation: "shadow" | "scoped" | "none";
  /** Initial HTML of the render root, for legacy script apps (e.g. `<div id="app"></div>`). */
  template?: string;
  /** sha384 SRI per bundle file; a file without one is never loaded ("": not checked, from a --dev server's dev override only). */
  integrity: Record<string, string>;
  /** Where the files are, when not at `${cdn}${name}/${version}/`: a dev server's URL, under a --dev override. */
  base?: string;
  /** The previous live version, mounted instead when this one fails to load or mount in the browser. */
  fallback?: Fallback;
}

/** Fallback is an app's known-good version, with its files. */
export interface Fallback {
  version: string;
  entry?: string;
  styles: string[];
  integrity: Record<string, string>;
}

/** Manifest is the public manifest: one live version per app. */
export interface Manifest {
  schema: number;
  revision: number;
  /** Base URL of bundles: a bundle file is `${cdn}${name}/${version}/${file}`. */
  cdn: string;
  apps: Record<string, AppEntry>;
}

/** Props is what every lifecycle of one mount receives (single-spa compatible). */
export interface Props {
  name: string;
  version: string;
  /** Where to render: the container in the element's shadow root, or the element itself. */
  domElement: HTMLElement;
  mfshell: Mfshell;
  /** True when the render root already held server-rendered HTML at mount. */
  hydrate: boolean;
}

/** Lifecycle is one step of an app's life; it may return a promise. */
export type Lifecycle = (props: Props) => unknown;

/** Lifecycles are what an app exports (module) or registers (script), each a function or an array run in order. */
export interface Lifecycles {
  bootstrap?: Lifecycle | Lifecycle[];
  mount: Lifecycle | Lifecycle[];
  unmount?: Lifecycle | Lifecycle[];
}

/**
 * Resources counts what an app holds right now and what teardown releases
 * on unmount. listeners include mfshell.on handlers and store subscriptions;
 * timers include animation frames.
 */
export interface Resources {
  listeners: number;
  timers: number;
  observers: number;
  globals: number;
  nodes: number;
}

/** Store is state shared by all apps; it outlives mounts. */
export interface Store {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  /** subscribe calls fn(key, value) on every set; an app's subscriptions end when it unmounts. */
  subscribe(fn: (key: string, value: unknown) => void): () => void;
}

/** Mfshell is window.mfshell and props.mfshell. */
export interface Mfshell {
  /** navigate pushes path onto the history and routes to it. */
  navigate(path: string): void;
  /** register gives a classic script app's lifecycles; call it while the script runs. */
  register(name: string, lifecycles: Lifecycles): void;
  /** on calls fn(detail, type) on every emit of type; an app's handlers end when it unmounts. */
  on(type: string, fn: (detail: unknown, type: string) => void): () => void;
  emit(type: string, detail?: unknown): void;
  store: Store;
  /** manifest is the current public manifest; it changes when a release reaches the page. */
  readonly manifest: Manifest;
  /** resources counts what app name holds now; undefined for an unknown app. */
  resources(name: string): Resources | undefined;
}

/**
 * AppEventDetail is the detail of mfshell:mounted, mfshell:fallback,
 * mfshell:unmounted and mfshell:error. On mfshell:fallback, version is the
 * live version that failed, error why, and the fallback version is mounted.
 */
export interface AppEventDetail {
  app: string;
  version?: string;
  error?: unknown;
  /** On mfshell:unmounted: what teardown held for the app just before releasing it. */
  cleaned?: Resources;
  /** On mfshell:mounted and mfshell:fallback: milliseconds from the start of the mount (loading included) to mounted. */
  ms?: number;
}

declare global {
  interface Window {
    mfshell: Mfshell;
  }
  interface WindowEventMap {
    "mfshell:mounted": CustomEvent<AppEventDetail>;
    "mfshell:fallback": CustomEvent<AppEventDetail>;
    "mfshell:unmounted": CustomEvent<AppEventDetail>;
    "mfshell:error": CustomEvent<AppEventDetail>;
    "mfshell:manifest": CustomEvent<{ revision: number }>;
  }
}
