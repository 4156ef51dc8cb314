package negotiate

import "testing"

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip;q=0.000", false},
		{"gzip;q=0.001", true},
		{"identity", false},
		{"x-gzip", true},
		{"deflate, gzip ; q=0.001", true},
		{"gzip; q=0.000", false},
		{"gzipped", false},
	}
	for _, tt := range tests {
		if got := AcceptsGzip(tt.header); got != tt.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestNoneMatch(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{"", `"7"`, false},
		{`"7"`, `"7"`, true},
		{`W/"7"`, `"7"`, true},
		{`"6", "7"`, `"7"`, true},
		{`"6"`, `"7"`, false},
		{`*`, `"7"`, true},
		{`"70"`, `"7"`, false},
		{`"sha384-abc+/=-gz"`, `"sha384-abc+/="`, false},
	}
	for _, tt := range tests {
		if got := NoneMatch(tt.header, tt.etag); got != tt.want {
			t.Errorf("NoneMatch(%q, %q) = %v, want %v", tt.header, tt.etag, got, tt.want)
		}
	}
}
