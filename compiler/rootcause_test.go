package compiler

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestFoldConsequences: the errors that follow from a reported cause are
// counted in it and the cause comes first; a consequence whose cause is not
// reported, and a warning, stay as they are.
func TestFoldConsequences(t *testing.T) {
	warn := MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unresolved dependency"}, RepoPackagesCause("a"))
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Other"},
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Role package missing"}, RepoPackagesCause("a")),
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Role package missing"}, RepoPackagesCause("b"), RepoPackagesCause("a")),
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Node package missing"}, RepoPackagesCause("a")),
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad package in repo c"}, RepoKeysCause("c")),
		warn,
		MarkCause(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing package path", Detail: "x does not exist."}, RepoPackagesCause("a")),
	}
	got := FoldConsequences(diags)
	var sums []string
	for _, d := range got {
		sums = append(sums, d.Summary)
	}
	if want := "Missing package path|Other|Bad package in repo c|Unresolved dependency"; strings.Join(sums, "|") != want {
		t.Errorf("folded to %q, want %q", strings.Join(sums, "|"), want)
	}
	if want := "x does not exist. (and 3 errors that follow from it, not shown: Role package missing ×2, Node package missing ×1)"; got[0].Detail != want {
		t.Errorf("cause detail %q, want %q", got[0].Detail, want)
	}
	if FoldConsequences(hcl.Diagnostics{diags[0]})[0] != diags[0] {
		t.Error("diagnostics without a cause changed")
	}
}

// TestImageArchFromFacts: an image whose source provides only arm64 is
// warned about for x86_64 nodes; one that provides amd64 among others is not.
func TestImageArchFromFacts(t *testing.T) {
	for _, tc := range []struct {
		platforms []string
		warn      bool
	}{
		{[]string{"linux/arm64/v8"}, true},
		{[]string{"linux/arm64/v8", "linux/amd64"}, false},
		{[]string{"windows/amd64"}, true},
	} {
		edits := []edit{{"  platform = \"linux/amd64\"\n", ""}}
		_, diags, _ := compileEdited(t, edits, func(f *Facts) {
			im := f.Images["nginx"]
			im.Platforms = tc.platforms
			f.Images["nginx"] = im
		})
		var found bool
		for _, d := range diags {
			if d.Summary == "Image for another architecture" {
				found = true
				if d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, strings.Join(tc.platforms, ", ")) || !strings.Contains(d.Detail, "x86_64 (linux/amd64)") {
					t.Errorf("%v: %s", tc.platforms, d.Detail)
				}
			}
		}
		if found != tc.warn {
			t.Errorf("platforms %v: warned %v, want %v", tc.platforms, found, tc.warn)
		}
	}
}

// TestFoldConsequencesAgain: folding the folded diagnostics again, with the
// consequences another phase reported, counts every consequence once, in
// one parenthesis.
func TestFoldConsequencesAgain(t *testing.T) {
	cause := MarkCause(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing GPG key file", Detail: "k does not exist."}, RepoKeysCause("a"))
	first := FoldConsequences(hcl.Diagnostics{
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Role package missing"}, RepoKeysCause("a")),
		cause,
	})
	if want := "k does not exist. (and 1 error that follows from it, not shown: Role package missing ×1)"; first[0].Detail != want {
		t.Fatalf("first fold: %q, want %q", first[0].Detail, want)
	}
	if again := FoldConsequences(first); len(again) != 1 || again[0].Detail != first[0].Detail {
		t.Errorf("folding again changed it: %q", again[0].Detail)
	}
	second := FoldConsequences(append(hcl.Diagnostics{
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad signature"}, RepoKeysCause("a")),
		MarkFollows(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad signature"}, RepoKeysCause("a")),
	}, first...))
	if want := "k does not exist. (and 3 errors that follow from it, not shown: Role package missing ×1, Bad signature ×2)"; len(second) != 1 || second[0].Detail != want {
		t.Errorf("second fold: %d diagnostics, %q, want %q", len(second), second[0].Detail, want)
	}
}
