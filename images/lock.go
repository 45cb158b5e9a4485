package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bdebundle/bundle/internal/atomicfs"
	"github.com/bdebundle/bundle/internal/regular"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sync/errgroup"
)

// Locked is one image entry of the lock file.
type Locked struct {
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

// Lock resolves every spec to the digest its reference names now. Specs that
// are already pinned (Spec.Digest set) keep their digest without a look-up
// unless opts.UpdateLock is set, like `terraform init` keeps locked
// providers. Platforms are checked against the source. Offline, unpinned
// registry references are an error. The Ref of each entry is the spec's Ref
// verbatim: callers holding local-source paths relative to the definition
// pass those.
func Lock(ctx context.Context, specs []Spec, opts Options) ([]Locked, error) {
	opts = opts.withDefaults()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	out := make([]Locked, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, spec := range specs {
		if spec.Digest != "" && !opts.UpdateLock {
			out[i] = Locked{Name: spec.Name, Ref: spec.Ref, Digest: spec.Digest, Platforms: spec.Platforms}
			continue
		}
		g.Go(func() error {
			src, err := parseSource(spec.Ref, opts.Insecure)
			if err != nil {
				return fmt.Errorf("image %q: %w", spec.Name, err)
			}
			if src.Kind == Registry && opts.Offline {
				return fmt.Errorf("image %q: locking %s needs the registry and the network is off", spec.Name, spec.Ref)
			}
			a, h, err := open(gctx, src, opts)
			if err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			if _, err := selectPlatforms(a, spec.Platforms); err != nil {
				return fmt.Errorf("image %q from %s: %w", spec.Name, spec.Ref, err)
			}
			out[i] = Locked{Name: spec.Name, Ref: spec.Ref, Digest: h.String(), Platforms: spec.Platforms}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
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

// ReadLock reads the image entries of a lock file, keyed by name. A missing
// file is no error (nothing is locked yet). Other top-level blocks are left
// for their own readers.
func ReadLock(path string) (map[string]Locked, hcl.Diagnostics) {
	src, err := regular.ReadFile(path, maxLockSize)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Locked{}, nil
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
	out := map[string]Locked{}
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
		if _, err := parsePlatforms(li.Platforms); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid platform",
				Detail: fmt.Sprintf("Image %q: %s.", li.Name, err), Subject: b.DefRange.Ptr()})
			continue
		}
		out[li.Name] = Locked{Name: li.Name, Ref: li.Ref, Digest: li.Digest, Platforms: li.Platforms, Range: b.DefRange}
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

// WriteLock writes the image entries of a lock file, sorted by name,
// atomically (temporary file beside path, then rename). Top-level blocks
// other than image blocks in an existing file are kept.
func WriteLock(path string, locks []Locked) error {
	locks = slices.Clone(locks)
	slices.SortFunc(locks, func(a, b Locked) int { return strings.Compare(a.Name, b.Name) })
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
