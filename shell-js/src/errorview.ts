// The views the shell itself renders: an app that failed (inside that app's
// element, with a Retry button) and a path no app owns (in the stage).

function view(cls: string, text: string, ...more: Node[]) {
  const d = document.createElement("div");
  d.className = cls;
  d.setAttribute("role", "alert");
  d.append(text, ...more);
  return d;
}

/** errorView replaces root's content with message and a Retry button that calls retry. */
export function errorView(root: ParentNode, message: string, retry: () => void) {
  const b = document.createElement("button");
  b.textContent = "Retry";
  b.onclick = retry;
  root.replaceChildren(view("mfshell-error", message + " ", b));
}

/** notFound returns the view for a path that no app owns. */
export const notFound = (path: string) => view("mfshell-not-found", `Page not found: ${path}`);
