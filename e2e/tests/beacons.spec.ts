// Beacons: after each mount and unmount the runtime tells the server, with
// navigator.sendBeacon, how it went and what teardown had to release; the
// server counts it per app and version in /metrics. The leaky fixture
// leaks one of everything on every run, so its unmounts show up there.

import { expect, test } from "../test";

test("mounts and what teardown released reach the server's metrics", async ({ shell, server }) => {
  const mounted = 'mfshell_app_mounts_total{app="leaky",outcome="mounted",version="1.0.0"}';
  const seconds = 'mfshell_app_mount_seconds_count{app="leaky",version="1.0.0"}';
  const listeners = 'mfshell_app_cleaned_total{app="leaky",kind="listeners",version="1.0.0"}';
  const [mounts0, seconds0, listeners0] = await Promise.all([mounted, seconds, listeners].map((s) => server.metric(s)));

  await shell.goto("/leaky", "leaky");
  const unmounted = await shell.next("unmounted", "leaky", () => shell.clickNav("react"));
  // The leaky script adds a listener each to window, document and body.
  expect(unmounted.cleaned?.listeners).toBeGreaterThanOrEqual(3);

  await expect.poll(() => server.metric(mounted)).toBe(mounts0 + 1);
  await expect.poll(() => server.metric(seconds)).toBe(seconds0 + 1);
  await expect.poll(() => server.metric(listeners)).toBe(listeners0 + unmounted.cleaned!.listeners);
});
