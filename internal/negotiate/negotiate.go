// Package negotiate answers the two questions every handler that serves
// cached bytes asks of a request: does the client accept gzip, and does it
// already hold this ETag.
package negotiate

import (
	"strconv"
	"strings"
)

// AcceptsGzip reports whether an Accept-Encoding header value accepts gzip
// (or its old alias x-gzip) with a weight above 0.
func AcceptsGzip(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && !strings.EqualFold(coding, "x-gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(strings.TrimSpace(params), " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// NoneMatch reports whether an If-None-Match header value matches etag,
// using the weak comparison that RFC 9110 prescribes for If-None-Match.
func NoneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
