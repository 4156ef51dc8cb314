package fragments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// TriggerHeader is the response header through which a fragment tells the
// page's apps what happened: a JSON object of event types to details, each
// delivered as mfshell.emit(type, detail).
const TriggerHeader = "Mfshell-Trigger"

// Bounds of a trigger header.
const (
	MaxTriggerBytes  = 4 << 10
	maxTriggerEvents = 16
	maxEventType     = 100
)

// ParseTrigger validates an Mfshell-Trigger value and returns it compacted,
// with every non-ASCII character escaped, so that it can travel in a
// header and an HTML attribute unchanged; "" gives "".
func ParseTrigger(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > MaxTriggerBytes {
		return "", fmt.Errorf("%s: larger than %d bytes", TriggerHeader, MaxTriggerBytes)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s: not UTF-8", TriggerHeader)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var events map[string]json.RawMessage
	if err := dec.Decode(&events); err != nil || events == nil || dec.More() {
		return "", fmt.Errorf(`%s: want a JSON object such as {"cart:added": {"sku": "A1"}}`, TriggerHeader)
	}
	if len(events) == 0 || len(events) > maxTriggerEvents {
		return "", fmt.Errorf("%s: give 1 to %d events", TriggerHeader, maxTriggerEvents)
	}
	for t := range events {
		if err := checkEventType(t); err != nil {
			return "", fmt.Errorf("%s: event %q: %w", TriggerHeader, t, err)
		}
	}
	b, err := json.Marshal(events) // sorted keys, compact
	if err != nil {
		return "", err
	}
	return asciiJSON(b), nil
}

func checkEventType(t string) error {
	if t == "" || len(t) > maxEventType {
		return fmt.Errorf("want 1 to %d bytes", maxEventType)
	}
	for _, c := range t {
		if c < ' ' || c == 0x7f {
			return errors.New("a control character")
		}
	}
	return nil
}

// asciiJSON escapes every non-ASCII character of JSON text b as \uXXXX
// (surrogate pairs above U+FFFF), which JSON parsers read back unchanged.
func asciiJSON(b []byte) string {
	var out []byte
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r > 0xffff:
			r -= 0x10000
			out = append(out, `\u`+strconv.FormatInt(int64(0xd800+(r>>10)), 16)+`\u`+strconv.FormatInt(int64(0xdc00+(r&0x3ff)), 16)...)
		default:
			out = append(out, fmt.Sprintf(`\u%04x`, r)...)
		}
	}
	return string(out)
}
