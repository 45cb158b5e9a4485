package hcl

import (
	"fmt"
	"os"
	"path/filepath"

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
		src, err := os.ReadFile(f)
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
			if err := writeFileAtomic(f, r.After); err != nil {
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

func writeFileAtomic(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fmt-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
