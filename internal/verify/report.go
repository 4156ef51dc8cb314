package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report for people: versions, leaks, errors, visual and
// the verdict, each failure marked FAIL where it was found and listed
// again in the verdict.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mfshell verify: %s %s on %s\n", r.App, r.Version, r.Server)

	section(&b, "Versions")
	table(&b, [][2]string{
		{"app", fmt.Sprintf("%s, route %s, live version %s", r.App, r.Route, r.Live)},
		{"under test", r.Version + " (an override for this browser only)"},
		{"other app", fmt.Sprintf("%s, route %s", r.Other, r.OtherRoute)},
		{"browser", r.Browser},
		{"mounted", yesNo(r.Mounted, "yes", "no (see Errors)")},
	})

	if l := r.Leaks; l != nil {
		per := 0.0
		if l.Cycles > 0 {
			per = 1000 * r.SwitchSeconds / float64(l.Cycles)
		}
		section(&b, fmt.Sprintf("Leaks: %d warm-up cycles, then %d cycles in %.1f s (%.0f ms a cycle; a mount of %s takes %.0f ms)",
			l.Warmup, l.Cycles, r.SwitchSeconds, per, r.App, l.MountMs))
		rows := [][2]string{
			{"held while mounted", l.Held.String()},
			{"released by the shell", meanText(l.CleanedMean, l.CleanedMax)},
		}
		if l.RestoredGlobals > 0 || l.RestoredNodes > 0 {
			rows = append(rows, [2]string{"of which put back", fmt.Sprintf("%.3g globals, %.3g nodes per unmount (a module's own, restored at the next mount: not leaks)", l.RestoredGlobals, l.RestoredNodes)})
		}
		table(&b, append(rows, [][2]string{
			{"left by the app", meanText(l.LeakedMean, l.LeakedMax) + fmt.Sprintf(" (in %d of %d unmounts)", l.LeakyUnmounts, l.Cycles)},
			{"held after unmount", l.AfterMax.String()},
			{"listeners window/document/body", fmt.Sprintf("%s before, %s after", totals(l.ListenersBefore), totals(l.ListenersAfter))},
			{"elements of the document", fmt.Sprintf("%d before, %d after", l.ElementsBefore, l.ElementsAfter)},
			{"heap after GC", fmt.Sprintf("%s before, %s after (%s%s, %s a cycle; the limit is %s)",
				Bytes(l.Heap.Before), Bytes(l.Heap.After), sign(l.Heap.After-l.Heap.Before), Bytes(l.Heap.After-l.Heap.Before), Bytes(l.Heap.PerCycle), Bytes(l.Heap.Limit))},
		}...))
		if l.Handlers > 0 {
			fmt.Fprintf(&b, "  note %.3g mfshell.on handlers or store subscriptions per unmount ended by the shell, as documented: not leaks\n", l.Handlers)
		}
		for _, f := range l.Framework {
			fmt.Fprintf(&b, "  note %s, removed at each unmount and added again at the next mount: kept for the page by design, not a leak\n", f)
		}
		for _, c := range l.ListenerChanges {
			fmt.Fprintf(&b, "  %s %q listeners: %d before, %d after\n", c.Target, c.Type, c.Before, c.After)
		}
		marks(&b, "ok", l.Allowed)
		marks(&b, "FAIL", l.Failures)
		if len(l.Failures) == 0 {
			b.WriteString("  ok   no leaks\n")
		}
	} else {
		section(&b, "Leaks: not measured")
	}

	section(&b, "Errors")
	problems(&b, r.Errors, "FAIL")
	if len(r.Errors) == 0 {
		b.WriteString("  ok   none\n")
	}
	if len(r.AgainstErrors) > 0 {
		fmt.Fprintf(&b, "  while running %s %s (the version compared with; not a failure of %s):\n", r.App, r.againstVersion(), r.Version)
		problems(&b, r.AgainstErrors, "note")
	}

	if v := r.Visual; v != nil {
		section(&b, fmt.Sprintf("Visual: against %s %s", r.App, v.Against))
		if v.Files.Version != "" && v.Diff.Width > 0 {
			table(&b, [][2]string{
				{"screenshots", fmt.Sprintf("%s, %s", v.Files.Version, v.Files.Against)},
				{"differing pixels", fmt.Sprintf("%.2f%% (%d of %dx%d; the limit is %g%%)", v.Diff.Percent, v.Diff.Differing, v.Diff.Width, v.Diff.Height, v.MaxDiff)},
				{"diff image", v.Files.Diff + " (differences in red)"},
			})
		}
		if v.Unstable {
			b.WriteString("  note the page kept changing (an animation?): screenshots may differ from run to run\n")
		}
		marks(&b, "FAIL", v.Failures)
		if len(v.Failures) == 0 {
			b.WriteString("  ok   the same within the limit\n")
		}
	} else {
		section(&b, "Visual: not checked")
	}

	if r.Pass {
		fmt.Fprintf(&b, "\nVerdict: PASS (%.1f s)\n", r.Seconds)
	} else {
		fmt.Fprintf(&b, "\nVerdict: FAIL, %d %s (%.1f s)\n", len(r.Failures), plural(len(r.Failures), "failure"), r.Seconds)
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  - %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) againstVersion() string {
	if r.Visual != nil {
		return r.Visual.Against
	}
	return ""
}

func section(b *strings.Builder, title string) {
	fmt.Fprintf(b, "\n%s\n", title)
}

func table(b *strings.Builder, rows [][2]string) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}

func marks(b *strings.Builder, mark string, lines []string) {
	for _, l := range lines {
		fmt.Fprintf(b, "  %-4s %s\n", mark, l)
	}
}

func problems(b *strings.Builder, ps []Problem, mark string) {
	for _, p := range ps {
		times := ""
		if p.Count > 1 {
			times = fmt.Sprintf(" (%d times)", p.Count)
		}
		fmt.Fprintf(b, "  %-4s %s: %s%s\n", mark, p.Kind, p.Text, times)
	}
}

// meanText lists the kinds with a mean and a most that are not zero, such
// as "3 listeners, 0.5 timers (at most 1) per unmount", or "nothing".
func meanText(mean map[string]float64, most Resources) string {
	var parts []string
	for _, k := range Kinds {
		if most.Get(k) > 0 {
			parts = append(parts, perUnmount(mean[k], most.Get(k), k))
		}
	}
	if parts == nil {
		return "nothing"
	}
	return strings.Join(parts, ", ") + " per unmount"
}

func totals(l Listeners) string {
	parts := make([]string, len(Targets))
	for i, t := range Targets {
		parts[i] = fmt.Sprint(l.Total(t))
	}
	return strings.Join(parts, "/")
}

func sign(n int64) string {
	if n >= 0 {
		return "+"
	}
	return ""
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
