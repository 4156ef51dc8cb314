package verify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Resources is what mfshell.resources(NAME) counts, and what the shell's
// teardown released at an unmount (detail.cleaned of mfshell:unmounted).
type Resources struct {
	Listeners int `json:"listeners"`
	Timers    int `json:"timers"`
	Observers int `json:"observers"`
	Globals   int `json:"globals"`
	Nodes     int `json:"nodes"`
}

// Kinds are the kinds of Resources, in the order reports list them.
var Kinds = []string{"listeners", "timers", "observers", "globals", "nodes"}

// Get returns the count of one kind.
func (r Resources) Get(kind string) int {
	switch kind {
	case "listeners":
		return r.Listeners
	case "timers":
		return r.Timers
	case "observers":
		return r.Observers
	case "globals":
		return r.Globals
	case "nodes":
		return r.Nodes
	}
	return 0
}

// max returns the larger count of each kind.
func (r Resources) max(o Resources) Resources {
	return Resources{max(r.Listeners, o.Listeners), max(r.Timers, o.Timers), max(r.Observers, o.Observers), max(r.Globals, o.Globals), max(r.Nodes, o.Nodes)}
}

// String lists the kinds that are not zero, such as "3 listeners, 1 global".
func (r Resources) String() string {
	var parts []string
	for _, k := range Kinds {
		if n := r.Get(k); n != 0 {
			parts = append(parts, count(n, k))
		}
	}
	if parts == nil {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// count writes n and the kind, singular when n is 1 ("1 global").
func count(n int, kind string) string {
	if n == 1 {
		kind = strings.TrimSuffix(kind, "s")
	}
	return fmt.Sprintf("%d %s", n, kind)
}

// Cycle is one measured unmount and mount of the app under test.
type Cycle struct {
	// Held is what the app held while mounted, just before its unmount.
	Held Resources `json:"held"`
	// Cleaned is what the shell's teardown released at the unmount:
	// what the app's own unmount left behind, and what the shell puts
	// back at the next mount (a module's globals and stylesheets).
	Cleaned Resources `json:"cleaned"`
	// After is what the app held after its unmount: always nothing, unless
	// the shell could not release something.
	After Resources `json:"after"`
	// Released are the listeners of window, document and body the shell
	// removed at the unmount, "TARGET TYPE" each.
	Released []string `json:"released"`
	// RestoredGlobals and RestoredNodes are the app's globals and nodes
	// that were there at its previous mount too, the same values and
	// nodes: what the shell put back, not created again.
	RestoredGlobals int `json:"restoredGlobals"`
	RestoredNodes   int `json:"restoredNodes"`
	// FreshGlobals and FreshNodes are the globals and nodes the mount
	// created anew (names, and descriptions such as "body > div#toast").
	FreshGlobals []string `json:"freshGlobals"`
	FreshNodes   []string `json:"freshNodes"`
	// MountMs is how long its mount took (mfshell:mounted detail.ms).
	MountMs float64 `json:"mountMs"`
}

// frameworkListeners are listeners, "TARGET TYPE", that a framework keeps
// for the life of the page, one for all its roots, and adds again at the
// next mount when the shell's teardown removed them: not leaks.
var frameworkListeners = map[string]string{
	// react-dom's listenToAllSupportedEvents: one selectionchange listener
	// on the document, marked with an expando the teardown also removes.
	"document selectionchange": "React",
}

// leaked is what the app's unmount left behind in one cycle, judged: the
// listeners the shell removed (but a framework's own), the timers and
// observers it released, and the globals and nodes it released that the
// next mount did not get back from the shell but created anew.
func (c Cycle) leaked() (Resources, []string) {
	var r Resources
	var framework []string
	for _, l := range c.Released {
		if fw, ok := frameworkListeners[l]; ok {
			framework = append(framework, fmt.Sprintf("%s's %s listener", fw, l))
			continue
		}
		r.Listeners++
	}
	r.Timers, r.Observers = c.Cleaned.Timers, c.Cleaned.Observers
	r.Globals = max(0, c.Cleaned.Globals-c.RestoredGlobals)
	r.Nodes = max(0, c.Cleaned.Nodes-c.RestoredNodes)
	return r, framework
}

// Listeners counts the event listeners of window, document and body by
// event type, as DOMDebugger.getEventListeners sees them.
type Listeners map[string]map[string]int

// Targets are the targets whose listeners are counted, in report order.
var Targets = []string{"window", "document", "body"}

// Total is the number of listeners on target.
func (l Listeners) Total(target string) int {
	n := 0
	for _, c := range l[target] {
		n += c
	}
	return n
}

// Limits are the thresholds of the leak judgement.
type Limits struct {
	// HeapPerCycle is the heap growth per cycle, in bytes, beyond which the
	// heap fails, if the growth is also more than HeapShare of the heap.
	HeapPerCycle int64
	// HeapShare is the share of the heap before the cycles, 0.1 for 10%.
	HeapShare float64
	// Allow are kinds the app may leave for the shell to release without
	// a failure: reported, not failed.
	Allow []string
}

// ListenerChange is a change in the number of listeners of one type on one
// target across the measured cycles.
type ListenerChange struct {
	Target string `json:"target"`
	Type   string `json:"type"`
	Before int    `json:"before"`
	After  int    `json:"after"`
}

// Heap is the used JS heap after a forced garbage collection.
type Heap struct {
	Before   int64 `json:"before"`
	After    int64 `json:"after"`
	PerCycle int64 `json:"perCycle"`
	// Limit is the growth beyond which the heap fails.
	Limit int64 `json:"limit"`
}

// Measured is what was measured around the cycles: the listeners of
// window, document and body, the heap after GC and the number of elements
// of the document, before and after.
type Measured struct {
	ListenersBefore, ListenersAfter Listeners
	HeapBefore, HeapAfter           int64
	ElementsBefore, ElementsAfter   int
}

// Leaks is the leak part of a report.
type Leaks struct {
	Warmup int `json:"warmup"`
	Cycles int `json:"cycles"`
	// Held is the most the app held while mounted, of each kind.
	Held Resources `json:"held"`
	// CleanedMean and CleanedMax are what the shell released for the app
	// per unmount, as mfshell:unmounted says: the mean and the most.
	CleanedMean map[string]float64 `json:"cleanedMean"`
	CleanedMax  Resources          `json:"cleanedMax"`
	// LeakedMean and LeakedMax are what of that the app left behind (see
	// Cycle.leaked); LeakyUnmounts how many unmounts left anything.
	LeakedMean    map[string]float64 `json:"leakedMean"`
	LeakedMax     Resources          `json:"leakedMax"`
	LeakyUnmounts int                `json:"leakyUnmounts"`
	// Named are the leaked listeners, globals and nodes by kind, by name.
	Named map[string][]string `json:"named"`
	// Restored are the globals and nodes per unmount that the shell put
	// back at the next mount; Handlers the mfshell.on handlers and store
	// subscriptions per unmount that the shell ended (by design);
	// Framework a framework's page-long listeners it removed. None is a
	// failure.
	RestoredGlobals float64  `json:"restoredGlobals"`
	RestoredNodes   float64  `json:"restoredNodes"`
	Handlers        float64  `json:"handlers"`
	Framework       []string `json:"framework"`
	// AfterMax is the most the app held after an unmount.
	AfterMax Resources `json:"afterMax"`
	// Listeners are the counts before and after the measured cycles.
	ListenersBefore Listeners        `json:"listenersBefore"`
	ListenersAfter  Listeners        `json:"listenersAfter"`
	ListenerChanges []ListenerChange `json:"listenerChanges"`
	ElementsBefore  int              `json:"elementsBefore"`
	ElementsAfter   int              `json:"elementsAfter"`
	Heap            Heap             `json:"heap"`
	// MountMs is the mean duration of a mount of the app.
	MountMs  float64  `json:"mountMs"`
	Failures []string `json:"failures"`
	// Allowed are the leaks that Limits.Allow accepted: reported, not failed.
	Allowed []string `json:"allowed"`
}

// maxNames bounds the names listed per kind.
const maxNames = 6

// judgeLeaks judges the measured cycles: it fails on what the app's
// unmounts left for the shell to release (kinds not in limits.Allow), on
// anything still held after an unmount, on listeners of window, document
// or body and elements of the document that grew across the cycles (left
// by the app where the shell does not look), and on heap growth beyond the
// limits.
func judgeLeaks(warmup int, cycles []Cycle, m Measured, limits Limits) *Leaks {
	l := &Leaks{
		Warmup: warmup, Cycles: len(cycles), CleanedMean: map[string]float64{}, LeakedMean: map[string]float64{},
		Named: map[string][]string{}, Framework: []string{},
		ListenersBefore: m.ListenersBefore, ListenersAfter: m.ListenersAfter, ListenerChanges: []ListenerChange{},
		ElementsBefore: m.ElementsBefore, ElementsAfter: m.ElementsAfter,
		Failures: []string{}, Allowed: []string{},
	}
	n := max(len(cycles), 1)
	var cleaned, leaked [5]int
	for _, c := range cycles {
		lk, fw := c.leaked()
		for _, f := range fw {
			if !slices.Contains(l.Framework, f) {
				l.Framework = append(l.Framework, f)
			}
		}
		for i, k := range Kinds {
			cleaned[i] += c.Cleaned.Get(k)
			leaked[i] += lk.Get(k)
		}
		l.Held = l.Held.max(c.Held)
		l.CleanedMax = l.CleanedMax.max(c.Cleaned)
		l.LeakedMax = l.LeakedMax.max(lk)
		l.AfterMax = l.AfterMax.max(c.After)
		if lk != (Resources{}) {
			l.LeakyUnmounts++
		}
		l.RestoredGlobals += float64(c.RestoredGlobals) / float64(n)
		l.RestoredNodes += float64(c.RestoredNodes) / float64(n)
		l.Handlers += float64(max(0, c.Cleaned.Listeners-len(c.Released))) / float64(n)
		l.MountMs += c.MountMs / float64(n)
		if lk.Listeners > 0 {
			for _, r := range c.Released {
				if _, ok := frameworkListeners[r]; !ok {
					l.Named["listeners"] = addName(l.Named["listeners"], r)
				}
			}
		}
		if lk.Globals > 0 {
			for _, g := range c.FreshGlobals {
				l.Named["globals"] = addName(l.Named["globals"], g)
			}
		}
		if lk.Nodes > 0 {
			for _, d := range c.FreshNodes {
				l.Named["nodes"] = addName(l.Named["nodes"], d)
			}
		}
	}
	for i, k := range Kinds {
		l.CleanedMean[k] = float64(cleaned[i]) / float64(n)
		l.LeakedMean[k] = float64(leaked[i]) / float64(n)
	}

	// What the app's unmount left behind, which the shell released for it.
	var failed, allowed []string
	for _, k := range Kinds {
		if l.LeakedMax.Get(k) == 0 {
			continue
		}
		text := perUnmount(l.LeakedMean[k], l.LeakedMax.Get(k), k)
		if names := l.Named[k]; len(names) > 0 {
			text += " (" + strings.Join(names, ", ") + ")"
		}
		if slices.Contains(limits.Allow, k) {
			allowed = append(allowed, text)
		} else {
			failed = append(failed, text)
		}
	}
	if failed != nil {
		l.Failures = append(l.Failures, fmt.Sprintf("leaks %s per unmount: the app's unmount leaves them, the shell released them (in %d of %d unmounts)", strings.Join(failed, ", "), l.LeakyUnmounts, len(cycles)))
	}
	if allowed != nil {
		l.Allowed = append(l.Allowed, fmt.Sprintf("leaves %s per unmount for the shell to release (allowed by --allow)", strings.Join(allowed, ", ")))
	}
	if l.AfterMax != (Resources{}) {
		l.Failures = append(l.Failures, fmt.Sprintf("still holds %s after unmount (the shell could not release it)", l.AfterMax))
	}

	// What nobody released: listeners counted on the targets themselves,
	// and the elements of the document.
	before, after := m.ListenersBefore, m.ListenersAfter
	for _, t := range Targets {
		types := map[string]bool{}
		for ty := range before[t] {
			types[ty] = true
		}
		for ty := range after[t] {
			types[ty] = true
		}
		var grew []string
		for _, ty := range slices.Sorted(maps.Keys(types)) {
			b, a := before[t][ty], after[t][ty]
			if a == b {
				continue
			}
			l.ListenerChanges = append(l.ListenerChanges, ListenerChange{Target: t, Type: ty, Before: b, After: a})
			if a > b {
				grew = append(grew, fmt.Sprintf("+%d %s", a-b, ty))
			}
		}
		if grew != nil {
			l.Failures = append(l.Failures, fmt.Sprintf("listeners on %s grew from %d to %d over %d cycles (%s): not released by anyone", t, before.Total(t), after.Total(t), len(cycles), strings.Join(grew, ", ")))
		}
	}
	if m.ElementsAfter > m.ElementsBefore {
		l.Failures = append(l.Failures, fmt.Sprintf("the document's elements grew from %d to %d over %d cycles: not released by anyone", m.ElementsBefore, m.ElementsAfter, len(cycles)))
	}

	// The heap after a forced GC: a little growth is normal (compiled code,
	// caches), a retained app instance per cycle is not.
	l.Heap = Heap{Before: m.HeapBefore, After: m.HeapAfter, PerCycle: (m.HeapAfter - m.HeapBefore) / int64(n)}
	l.Heap.Limit = max(limits.HeapPerCycle*int64(len(cycles)), int64(limits.HeapShare*float64(m.HeapBefore)))
	if growth := m.HeapAfter - m.HeapBefore; growth > l.Heap.Limit {
		l.Failures = append(l.Failures, fmt.Sprintf("the heap grew by %s over %d cycles (%s a cycle, from %s to %s; the limit is %s)",
			Bytes(growth), len(cycles), Bytes(l.Heap.PerCycle), Bytes(m.HeapBefore), Bytes(m.HeapAfter), Bytes(l.Heap.Limit)))
	}
	return l
}

// addName adds name to names unless it is there, up to maxNames and "…".
func addName(names []string, name string) []string {
	if slices.Contains(names, name) || slices.Contains(names, "…") {
		return names
	}
	if len(names) == maxNames {
		return append(names, "…")
	}
	return append(names, name)
}

// perUnmount writes a count per unmount: "3 listeners" when every unmount
// left the same, else "0.5 timers (at most 1)".
func perUnmount(mean float64, most int, kind string) string {
	if mean == float64(most) {
		return count(most, kind)
	}
	return fmt.Sprintf("%.2g %s (at most %d)", mean, kind, most)
}

// Bytes writes a size in bytes for people: "512 B", "7.0 KiB", "3.25 MiB",
// with a sign when negative.
func Bytes(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%s%d B", sign, n)
	case n < 1<<20:
		return fmt.Sprintf("%s%.1f KiB", sign, float64(n)/(1<<10))
	}
	return fmt.Sprintf("%s%.2f MiB", sign, float64(n)/(1<<20))
}
