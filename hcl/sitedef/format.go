package sitedef

import (
	"fmt"
	"github.com/bdebundle/bundle/internal/regular"
	"os"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FormatResult is the outcome of formatting one file.
type FormatResult struct {
	Path          string
	Before, After []byte
	Diags         hcl.Diagnostics // syntax errors: the file is left alone
}

// Format formats the definition files at path (and, in a directory, the lock
// and variable files too). With write it rewrites files that change, each
// through a temporary file renamed into place.
func Format(path string, write bool) ([]FormatResult, error) {
	files, err := formatFiles(path)
	if err != nil {
		return nil, err
	}
	var out []FormatResult
	for _, f := range files {
		src, err := regular.ReadFile(f, MaxFileSize)
		if err != nil {
			return out, fmt.Errorf("reading %q: %w", f, err)
		}
		r := FormatResult{Path: f, Before: src}
		if _, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
			r.Diags, r.After = diags, src
			out = append(out, r)
			continue
		}
		r.After = hclwrite.Format(src)
		if write && string(r.After) != string(src) {
			if err := rewrite(f, r.After); err != nil {
				return out, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func formatFiles(path string) ([]string, error) {
	return listHCL(path, true)
}

// rewrite replaces the file at path with data, keeping its mode.
func rewrite(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return atomicfs.WriteFile(path, data, fi.Mode().Perm())
}
