package cli

import "github.com/pmezard/go-difflib/difflib"

func unifiedDiff(name, a, b string) string {
	s, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b),
		FromFile: name, ToFile: name + " (formatted)", Context: 3,
	})
	return s
}
