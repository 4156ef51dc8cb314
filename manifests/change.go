package manifests

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Change is what one revision did to one app.
type Change struct {
	App    string      `json:"app"`
	Action string      `json:"action"` // "create", "update" or "delete"
	Fields []FieldDiff `json:"fields,omitempty"`
}

// FieldDiff is one changed field of an app, with compact JSON of the old
// and new values ("" when absent).
type FieldDiff struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Actions of a Change.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Diff returns the changes that turn the apps of a into those of b, sorted
// by app name. It is empty when nothing changed.
func Diff(a, b map[string]App) []Change {
	names := slices.Sorted(maps.Keys(a))
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []Change
	for _, n := range names {
		old, inA := a[n]
		cur, inB := b[n]
		switch {
		case !inA:
			out = append(out, Change{App: n, Action: ActionCreate, Fields: diffApp(App{}, cur)})
		case !inB:
			out = append(out, Change{App: n, Action: ActionDelete, Fields: []FieldDiff{{Field: "version", From: quote(old.Version)}}})
		default:
			if d := diffApp(old, cur); len(d) > 0 {
				out = append(out, Change{App: n, Action: ActionUpdate, Fields: d})
			}
		}
	}
	return out
}

// diffApp compares two entries field by field. Integrity follows the
// version, so it is listed only when it changed without the version.
func diffApp(a, b App) []FieldDiff {
	var out []FieldDiff
	add := func(field string, x, y any) {
		fx, fy := compact(x), compact(y)
		if fx != fy {
			out = append(out, FieldDiff{Field: field, From: fx, To: fy})
		}
	}
	add("version", a.Version, b.Version)
	add("route", a.Route, b.Route)
	add("entry", a.Entry, b.Entry)
	add("styles", a.Styles, b.Styles)
	add("format", a.Format, b.Format)
	add("isolation", a.Isolation, b.Isolation)
	add("template", a.Template, b.Template)
	add("fragment", a.Fragment, b.Fragment)
	add("canary", a.Canary, b.Canary)
	if a.Version == b.Version && !maps.Equal(a.Integrity, b.Integrity) {
		out = append(out, FieldDiff{Field: "integrity", From: fmt.Sprintf("%d files", len(a.Integrity)), To: fmt.Sprintf("%d files", len(b.Integrity))})
	}
	return out
}

// compact renders a field value as compact JSON, "" for zero values.
func compact(v any) string {
	switch x := v.(type) {
	case string:
		return quote(x)
	case []string:
		if len(x) == 0 {
			return ""
		}
	case *Canary:
		if x == nil {
			return ""
		}
		c := *x // the canary's files follow its version
		c.Entry, c.Styles, c.Integrity = "", nil, nil
		v = c
	}
	b, err := json.Marshal(v)
	if err != nil { // only strings, slices and structs of them reach here
		return fmt.Sprint(v)
	}
	return string(b)
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return string(b)
}

// Summary renders changes as one line for people, such as
// `catalog: version "1.4.2" → "1.5.0"; cart: deleted`.
func Summary(changes []Change) string {
	var parts []string
	for _, c := range changes {
		switch c.Action {
		case ActionCreate:
			parts = append(parts, c.App+": created")
		case ActionDelete:
			parts = append(parts, c.App+": deleted")
		default:
			var fs []string
			for _, f := range c.Fields {
				from, to := f.From, f.To
				if from == "" {
					from = "none"
				}
				if to == "" {
					to = "none"
				}
				fs = append(fs, fmt.Sprintf("%s %s → %s", f.Field, from, to))
			}
			parts = append(parts, c.App+": "+strings.Join(fs, ", "))
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}
