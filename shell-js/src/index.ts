// The entry point of the runtime, and its only module with side effects:
// build the shell and start it. Timeouts can be set on the page's <html>
// element: data-mfshell-load-timeout and data-mfshell-lifecycle-timeout, in
// milliseconds.

import { Shell } from "./shell";

const d = document.documentElement.dataset;
new Shell({
  loadTimeout: +d.mfshellLoadTimeout! || 1e4,
  lifecycleTimeout: +d.mfshellLifecycleTimeout! || 5e3,
})
  .start()
  .catch(reportError);
