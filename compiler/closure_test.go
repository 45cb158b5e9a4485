package compiler

import "testing"

func TestNamesUpTo(t *testing.T) {
	for _, tt := range []struct {
		names []string
		n     int
		want  string
	}{
		{[]string{"a", "b", "c"}, 2, "a, b and 1 more"},
		{[]string{"a", "b"}, 2, "a, b"},
	} {
		if got := namesUpTo(tt.names, tt.n); got != tt.want {
			t.Errorf("namesUpTo(%q, %d) = %q, want %q", tt.names, tt.n, got, tt.want)
		}
	}
}
