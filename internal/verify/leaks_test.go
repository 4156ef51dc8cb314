package verify

import (
	"slices"
	"strings"
	"testing"
)

// repeat returns n copies of c.
func repeat(n int, c Cycle) []Cycle {
	out := make([]Cycle, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// steady is a measurement where nothing grew.
func steady() Measured {
	l := Listeners{"window": {"popstate": 1, "mfshell:mounted": 1}, "document": {"click": 1}, "body": {}}
	return Measured{ListenersBefore: l, ListenersAfter: l, HeapBefore: 4 << 20, HeapAfter: 4<<20 + 300<<10, ElementsBefore: 30, ElementsAfter: 30}
}

var limits = Limits{HeapPerCycle: DefaultHeapPerCycle, HeapShare: DefaultHeapShare}

func TestJudgeLeaks(t *testing.T) {
	// The leaky fixture: a legacy script that leaves one of everything.
	leaky := Cycle{
		Held:         Resources{3, 3, 2, 1, 2},
		Cleaned:      Resources{3, 3, 2, 1, 2},
		Released:     []string{"window resize", "document click", "body keydown"},
		FreshGlobals: []string{"leakyGlobal"},
		FreshNodes:   []string{"body > div#leaky-toast", "head > style#leaky-style"},
	}
	// React: its own keydown listener it removes itself; react-dom's
	// page-long selectionchange listener the shell removes every time.
	react := Cycle{Held: Resources{Listeners: 2}, Cleaned: Resources{Listeners: 1}, Released: []string{"document selectionchange"}}
	// Vue: three globals of its module's first evaluation, which the
	// shell saves at unmount and puts back, the same values, at the next mount.
	vue := Cycle{Held: Resources{Globals: 3}, Cleaned: Resources{Globals: 3}, RestoredGlobals: 3}
	// An app whose module injected a stylesheet once, put back each mount.
	styled := Cycle{Held: Resources{Nodes: 1}, Cleaned: Resources{Nodes: 1}, RestoredNodes: 1}
	// An app that relies on its mfshell.on handlers ending at unmount.
	bus := Cycle{Held: Resources{Listeners: 2}, Cleaned: Resources{Listeners: 2}}
	// An app that forgets a timer one unmount in two.
	sometimes := []Cycle{{Cleaned: Resources{Timers: 1}}, {}, {Cleaned: Resources{Timers: 1}}, {}}

	grown := steady()
	grown.ListenersAfter = Listeners{"window": {"popstate": 1, "mfshell:mounted": 1, "resize": 10}, "document": {"click": 1}, "body": {}}
	heavy := steady()
	heavy.HeapAfter = heavy.HeapBefore + 10*(100<<10) // 100 KiB a cycle over 10 cycles
	light := steady()
	light.HeapAfter = light.HeapBefore + 10*(40<<10) // 40 KiB a cycle: below the limit
	bigHeap := steady()
	bigHeap.HeapBefore, bigHeap.HeapAfter = 40<<20, 40<<20+10*(100<<10) // 1 MiB on 40 MiB: below 10%
	elements := steady()
	elements.ElementsAfter = 40

	for _, tc := range []struct {
		name   string
		cycles []Cycle
		m      Measured
		limits Limits
		fail   []string // substrings of the one failure line each; none: pass
	}{
		{name: "leaky legacy script", cycles: repeat(10, leaky), m: steady(), limits: limits, fail: []string{
			"leaks 3 listeners (window resize, document click, body keydown), 3 timers, 2 observers, 1 global (leakyGlobal), 2 nodes (body > div#leaky-toast, head > style#leaky-style) per unmount",
		}},
		{name: "react", cycles: repeat(10, react), m: steady(), limits: limits},
		{name: "vue", cycles: repeat(10, vue), m: steady(), limits: limits},
		{name: "module stylesheet put back", cycles: repeat(10, styled), m: steady(), limits: limits},
		{name: "mfshell.on handlers", cycles: repeat(10, bus), m: steady(), limits: limits},
		{name: "a timer one unmount in two", cycles: sometimes, m: steady(), limits: limits, fail: []string{"0.5 timers (at most 1) per unmount: the app's unmount leaves them, the shell released them (in 2 of 4 unmounts)"}},
		{name: "allowed kinds", cycles: repeat(10, leaky), m: steady(), limits: Limits{HeapPerCycle: DefaultHeapPerCycle, HeapShare: DefaultHeapShare, Allow: []string{"listeners", "timers", "observers"}},
			fail: []string{"leaks 1 global (leakyGlobal), 2 nodes"}},
		{name: "held after unmount", cycles: []Cycle{{After: Resources{Timers: 1}}}, m: steady(), limits: limits, fail: []string{"still holds 1 timer after unmount"}},
		{name: "listeners grew", cycles: repeat(10, Cycle{}), m: grown, limits: limits, fail: []string{"listeners on window grew from 2 to 12 over 10 cycles (+10 resize)"}},
		{name: "elements grew", cycles: repeat(10, Cycle{}), m: elements, limits: limits, fail: []string{"the document's elements grew from 30 to 40"}},
		{name: "heap grew", cycles: repeat(10, Cycle{}), m: heavy, limits: limits, fail: []string{"the heap grew by 1000.0 KiB over 10 cycles (100.0 KiB a cycle"}},
		{name: "heap grew a little", cycles: repeat(10, Cycle{}), m: light, limits: limits},
		{name: "heap grew, but less than 10%", cycles: repeat(10, Cycle{}), m: bigHeap, limits: limits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := judgeLeaks(2, tc.cycles, tc.m, tc.limits)
			if len(l.Failures) != len(tc.fail) {
				t.Fatalf("failures %q, want %d matching %q", l.Failures, len(tc.fail), tc.fail)
			}
			for i, want := range tc.fail {
				if !strings.Contains(l.Failures[i], want) {
					t.Errorf("failure %q, want it to contain %q", l.Failures[i], want)
				}
			}
		})
	}

	t.Run("report", func(t *testing.T) {
		l := judgeLeaks(5, repeat(4, react), steady(), limits)
		if l.Warmup != 5 || l.Cycles != 4 || l.Held != (Resources{Listeners: 2}) || l.CleanedMax != (Resources{Listeners: 1}) || l.CleanedMean["listeners"] != 1 {
			t.Errorf("report %+v", l)
		}
		if l.LeakedMax != (Resources{}) || l.LeakyUnmounts != 0 {
			t.Errorf("leaked %v in %d unmounts, want nothing", l.LeakedMax, l.LeakyUnmounts)
		}
		if !slices.Equal(l.Framework, []string{"React's document selectionchange listener"}) {
			t.Errorf("framework %q", l.Framework)
		}
		if l.Heap.PerCycle != (300<<10)/4 || l.Heap.Limit != max(4*DefaultHeapPerCycle, int64(419430)) {
			t.Errorf("heap %+v", l.Heap)
		}
		b := judgeLeaks(5, repeat(4, bus), steady(), limits)
		if b.Handlers != 2 {
			t.Errorf("handlers %v, want 2 per unmount", b.Handlers)
		}
		a := judgeLeaks(5, repeat(4, leaky), steady(), Limits{HeapPerCycle: DefaultHeapPerCycle, HeapShare: DefaultHeapShare, Allow: Kinds})
		if len(a.Failures) != 0 || len(a.Allowed) != 1 || !strings.Contains(a.Allowed[0], "3 listeners") {
			t.Errorf("all allowed: failures %q, allowed %q", a.Failures, a.Allowed)
		}
	})
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 7 << 10: "7.0 KiB", 3 << 20: "3.00 MiB", -2048: "-2.0 KiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
