// Package lockfile reads and writes bundle.lock.hcl, the file that pins
// every image block of a definition to a digest: where it is (Path), the
// image specs a definition's images resolve to, pinned by it (Specs),
// pinning them (Pin, with images.Pin) and its HCL format (Read, Write).
// It never prints.
package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/images"
	"github.com/bdebundle/bundle/images/layout"
	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Entry is one image entry of the lock file.
type Entry struct {
	Name string
	// Ref is the reference as written in the definition.
	Ref string
	// Digest is the digest Ref resolved to when locked.
	Digest    string
	Platforms []string
	// Range is where the entry was read from (zero for entries not read
	// from a file).
	Range hcl.Range
}

// Path returns the lock file of the definition at p: bundle.lock.hcl in
// the definition's directory.
func Path(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return filepath.Join(p, sitedef.LockFile)
	}
	return filepath.Join(filepath.Dir(p), sitedef.LockFile)
}

// Specs returns the image specs of a definition (local sources made
// absolute), pinned by its lock file when that holds an entry for the same
// reference. Stale entries (the definition's ref changed) are not used.
func Specs(d *sitedef.Definition) ([]images.Spec, hcl.Diagnostics) {
	locks, diags := Read(Path(d.Path))
	var specs []images.Spec
	for _, im := range d.Images {
		s := images.Spec{Name: im.Name, Ref: compiler.ImageSource(im), Platforms: im.AllPlatforms(), MediaTypes: layout.MediaTypes(compiler.ImageMediaTypes(d, im))}
		if l, ok := locks[im.Name]; ok && l.Ref == im.Ref {
			s.Digest = l.Digest
		}
		specs = append(specs, s)
	}
	return specs, diags
}

// Pin resolves every spec to the digest it names now (images.Lock: entries
// already pinned are kept unless opts.UpdateLock) and returns the entries
// of d's lock file, each ref as written in d (no host paths in the lock).
func Pin(ctx context.Context, d *sitedef.Definition, specs []images.Spec, opts images.Options) ([]Entry, error) {
	pinned, err := images.Lock(ctx, specs, opts)
	if err != nil {
		return nil, err
	}
	written := map[string]string{}
	for _, im := range d.Images {
		written[im.Name] = im.Ref
	}
	out := make([]Entry, len(pinned))
	for i, s := range pinned {
		out[i] = Entry{Name: s.Name, Ref: written[s.Name], Digest: s.Digest, Platforms: s.Platforms}
	}
	return out, nil
}

// maxLockSize bounds the lock file read (a FIFO or device there is
// refused, not waited on).
const maxLockSize = 16 << 20

type lockImage struct {
	Name      string    `hcl:"name,label"`
	Ref       string    `hcl:"ref"`
	Digest    string    `hcl:"digest"`
	Platforms []string  `hcl:"platforms,optional"`
	DeclRange hcl.Range `hcl:",def_range"`
}

// Read reads the image entries of a lock file, keyed by name. A missing
// file is no error (nothing is locked yet). Other top-level blocks are left
// for their own readers.
func Read(path string) (map[string]Entry, hcl.Diagnostics) {
	src, err := regular.ReadFile(path, maxLockSize)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Entry{}, nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read lock file", Detail: fmt.Sprintf("Reading %q: %s.", path, err)}}
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, _, d := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "image", LabelNames: []string{"name"}}}})
	diags = append(diags, d...)
	out := map[string]Entry{}
	for _, b := range content.Blocks {
		var li lockImage
		d := gohcl.DecodeBody(b.Body, nil, &li)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		li.Name = b.Labels[0]
		if prev, ok := out[li.Name]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate image in lock file",
				Detail: fmt.Sprintf("Image %q is already locked at %s.", li.Name, prev.Range), Subject: b.DefRange.Ptr()})
			continue
		}
		if h, err := v1.NewHash(li.Digest); err != nil || h.Algorithm != "sha256" {
			r := b.DefRange
			if a, ok := blockAttr(b.Body, "digest"); ok {
				r = a
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid image digest",
				Detail: fmt.Sprintf("Image %q: digest %q is not sha256:<64 hex digits>.", li.Name, li.Digest), Subject: r.Ptr()})
			continue
		}
		if err := images.CheckPlatforms(li.Platforms); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid platform",
				Detail: fmt.Sprintf("Image %q: %s.", li.Name, err), Subject: b.DefRange.Ptr()})
			continue
		}
		out[li.Name] = Entry{Name: li.Name, Ref: li.Ref, Digest: li.Digest, Platforms: li.Platforms, Range: b.DefRange}
	}
	return out, diags
}

func blockAttr(body hcl.Body, name string) (hcl.Range, bool) {
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.Expr.Range(), true
		}
	}
	return hcl.Range{}, false
}

const lockHeader = `# This file is maintained automatically by "bundle lock".
# Manual edits may be lost in future updates.
`

// Write writes the image entries of a lock file, sorted by name,
// atomically (temporary file beside path, then rename). Top-level blocks
// other than image blocks in an existing file are kept.
func Write(path string, locks []Entry) error {
	locks = slices.Clone(locks)
	slices.SortFunc(locks, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(locks); i++ {
		if locks[i].Name == locks[i-1].Name {
			return fmt.Errorf("writing %q: image %q listed twice", path, locks[i].Name)
		}
	}
	f := hclwrite.NewEmptyFile()
	if old, err := regular.ReadFile(path, maxLockSize); err == nil {
		of, diags := hclwrite.ParseConfig(old, path, hcl.InitialPos)
		if diags.HasErrors() {
			return fmt.Errorf("reading %q: %s", path, diags.Error())
		}
		for _, b := range of.Body().Blocks() {
			if b.Type() != "image" {
				f.Body().AppendBlock(b)
				f.Body().AppendNewline()
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %q: %w", path, err)
	}
	for i, l := range locks {
		if l.Name == "" || l.Ref == "" || l.Digest == "" {
			return fmt.Errorf("writing %q: entry %d is missing its name, ref or digest", path, i)
		}
		b := f.Body().AppendNewBlock("image", []string{l.Name})
		b.Body().SetAttributeValue("ref", cty.StringVal(l.Ref))
		b.Body().SetAttributeValue("digest", cty.StringVal(l.Digest))
		if len(l.Platforms) > 0 {
			vals := make([]cty.Value, len(l.Platforms))
			for i, p := range l.Platforms {
				vals[i] = cty.StringVal(p)
			}
			b.Body().SetAttributeValue("platforms", cty.ListVal(vals))
		}
		if i < len(locks)-1 {
			f.Body().AppendNewline()
		}
	}
	out := append([]byte(lockHeader+"\n"), hclwrite.Format(f.Bytes())...)
	return atomicfs.WriteFile(path, out, 0o644)
}
