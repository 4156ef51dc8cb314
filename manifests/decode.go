package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// wireManifest and wireApp are the JSON forms, decoded strictly. Route is a
// pointer because an absent route means "/NAME" and an empty one means "not
// routed".
type wireManifest struct {
	Schema   int                        `json:"schema"`
	Revision int64                      `json:"revision"`
	CDN      string                     `json:"cdn"`
	Apps     map[string]json.RawMessage `json:"apps"`
}

type wireApp struct {
	Version   string            `json:"version"`
	Route     *string           `json:"route"`
	Entry     string            `json:"entry"`
	Styles    []string          `json:"styles"`
	Format    string            `json:"format"`
	Isolation string            `json:"isolation"`
	Template  string            `json:"template"`
	Integrity map[string]string `json:"integrity"`
	Canary    *Canary           `json:"canary"`
	Fragment  string            `json:"fragment"`
}

func (w wireApp) app(name string) App {
	a := App{
		Version: w.Version, Entry: w.Entry, Styles: w.Styles, Format: w.Format,
		Isolation: w.Isolation, Template: w.Template, Integrity: w.Integrity,
		Canary: w.Canary, Fragment: w.Fragment,
	}
	if w.Route == nil {
		a.Route = "/" + name
	} else {
		a.Route = *w.Route
	}
	return a.WithDefaults()
}

// Decode parses a manifest strictly and validates it. Absent optional fields
// take their defaults. Any problem, including unknown fields and trailing
// data, gives a *ValidationError that names the field.
func Decode(data []byte) (*Manifest, error) {
	var w wireManifest
	if err := decodeStrict(data, &w, ""); err != nil {
		return nil, err
	}
	m := &Manifest{Schema: w.Schema, Revision: w.Revision, CDN: w.CDN}
	var ps problems
	if w.Apps != nil {
		m.Apps = make(map[string]App, len(w.Apps))
		for name, raw := range w.Apps {
			var wa wireApp
			if err := decodeStrict(raw, &wa, "apps."+name); err != nil {
				ps = append(ps, err.(*ValidationError).Problems...)
				continue
			}
			m.Apps[name] = wa.app(name)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	if err := Validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeApp parses the body of a request that creates or replaces the app
// name: an app entry as in the manifest, plus an optional "force" that
// allows a version that is not published. The entry is not validated, since
// the caller may still fill in its bundle's files and integrity.
func DecodeApp(name string, data []byte) (a App, force bool, err error) {
	var w struct {
		wireApp
		Force bool `json:"force"`
	}
	if err := decodeStrict(data, &w, ""); err != nil {
		return App{}, false, err
	}
	return w.wireApp.app(name), w.Force, nil
}

// Patch is a partial change of an app entry: nil fields stay as they are.
// Canary distinguishes absent (unchanged) from null (removed).
type Patch struct {
	Version   *string            `json:"version"`
	Route     *string            `json:"route"`
	Entry     *string            `json:"entry"`
	Styles    *[]string          `json:"styles"`
	Format    *string            `json:"format"`
	Isolation *string            `json:"isolation"`
	Template  *string            `json:"template"`
	Integrity *map[string]string `json:"integrity"`
	Fragment  *string            `json:"fragment"`
	Canary    CanaryPatch        `json:"canary"`
	// Force allows releasing a version that is not published.
	Force bool `json:"force"`
}

// CanaryPatch is the canary field of a [Patch]: Set is false when the field
// is absent, and Value is nil when it is null.
type CanaryPatch struct {
	Set   bool
	Value *Canary
}

// UnmarshalJSON implements json.Unmarshaler; it is called for null too.
func (c *CanaryPatch) UnmarshalJSON(data []byte) error {
	c.Set = true
	if string(data) == "null" {
		c.Value = nil
		return nil
	}
	var v Canary
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	c.Value = &v
	return nil
}

// DecodePatch parses the body of a request that changes fields of an app.
func DecodePatch(data []byte) (Patch, error) {
	var p Patch
	if err := decodeStrict(data, &p, ""); err != nil {
		return Patch{}, err
	}
	return p, nil
}

// IsEmpty reports whether p changes nothing.
func (p Patch) IsEmpty() bool {
	return p.Version == nil && p.Route == nil && p.Entry == nil && p.Styles == nil &&
		p.Format == nil && p.Isolation == nil && p.Template == nil && p.Integrity == nil &&
		p.Fragment == nil && !p.Canary.Set
}

// Apply returns a with p's fields set. Releasing the canary's version
// promotes it: the canary goes.
func (p Patch) Apply(a App) App {
	a = a.Clone()
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.Version, p.Version)
	set(&a.Route, p.Route)
	set(&a.Entry, p.Entry)
	set(&a.Format, p.Format)
	set(&a.Isolation, p.Isolation)
	set(&a.Template, p.Template)
	set(&a.Fragment, p.Fragment)
	if p.Styles != nil {
		a.Styles = *p.Styles
	}
	if p.Integrity != nil {
		a.Integrity = *p.Integrity
	}
	if p.Canary.Set {
		a.Canary = p.Canary.Value
	}
	if a.Canary != nil && a.Canary.Version == a.Version {
		a.Canary = nil
	}
	return a.WithDefaults()
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown fields
// and trailing data, and reports problems at fields under the prefix at.
func decodeStrict(data []byte, v any, at string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	return &ValidationError{Problems: []Problem{jsonProblem(err, at)}}
}

// jsonProblem turns an encoding/json error into a Problem at a field.
func jsonProblem(err error, at string) Problem {
	join := func(a, b string) string {
		switch {
		case a == "":
			return b
		case b == "":
			return a
		}
		return a + "." + b
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return Problem{Field: at, Message: fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))}
	case errors.As(err, &typ):
		return Problem{Field: join(at, typ.Field), Message: fmt.Sprintf("must be %s, got JSON %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.EOF):
		return Problem{Field: at, Message: "empty body: expected a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Problem{Field: at, Message: "malformed JSON: unexpected end of input"}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return Problem{Field: at, Message: "unknown field " + f}
	}
	return Problem{Field: at, Message: msg}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return kind
}
