package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/bdebundle/bundle/compiler"
	"github.com/bdebundle/bundle/hcl/sitedef"
	"github.com/bdebundle/bundle/internal/inputfacts"
	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/builder"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/hashicorp/hcl/v2"
)

// Mode is what a verb does with the definition it compiles.
type Mode int

const (
	// ModeCheck compiles and checks, asking no registry (validate, build
	// --plan): a registry image resolves, pinned by the lock file, from the
	// previous bundle's layout under OutDir; one that does not is a warning,
	// or with Offline an error, as build --offline refuses it.
	ModeCheck Mode = iota
	// ModeBuild compiles to build: registries are asked unless Offline,
	// and an image that does not resolve is an error.
	ModeBuild
)

// CompileRequest is what Compile is asked: the definition, and how its
// inputs are gathered.
type CompileRequest struct {
	// Path is the definition: a .hcl file or a directory of them.
	Path string
	// Load tunes loading it (variables, var files).
	Load sitedef.Options
	Mode Mode
	// Offline never asks a registry: a registry image resolves only,
	// pinned, from the previous bundle's layout, or is an error.
	Offline bool
	// OutDir is where the bundle is built: the previous build's images/
	// layout there resolves pinned registry images without the network
	// and supplies the blobs a build reuses.
	OutDir string
	// UpdateLock accepts image digests that differ from the lock file.
	UpdateLock bool
	// Insecure lists registry hosts reached over plain HTTP.
	Insecure []string
	// RegistryTimeout bounds each wait for a registry (images.Options
	// Timeout; 0 = the defaults).
	RegistryTimeout time.Duration
	// CacheDir holds the scan and hash caches; "" means $BUNDLE_CACHE_DIR,
	// $XDG_CACHE_HOME/bundle or ~/.cache/bundle. NoCache disables them.
	CacheDir string
	NoCache  bool
	Workers  int
	Progress progress.Reporter
}

// inputs are the gathering options of r, with the previous layout.
func (r CompileRequest) inputs(prevLayout string) inputfacts.Options {
	reg := inputfacts.RegistriesCheck
	switch {
	case r.Offline:
		reg = inputfacts.RegistriesOffline
	case r.Mode == ModeBuild:
		reg = inputfacts.RegistriesOnline
	}
	return inputfacts.Options{Workers: r.Workers, Progress: r.Progress, Registries: reg, UpdateLock: r.UpdateLock,
		Insecure: r.Insecure, RegistryTimeout: r.RegistryTimeout, PrevLayout: prevLayout, CacheDir: r.CacheDir, NoCache: r.NoCache}
}

// Compiled is a compiled definition with what was gathered about its
// inputs: what Compile returns, and what Build builds.
type Compiled struct {
	Def  *sitedef.Definition
	Plan *compiler.Plan
	// Checked is Plan as the builder checked it (nil when the compiler
	// refused the plan or the check did): Build builds it without a
	// second check.
	Checked *builder.Checked
	// Facts are the compiler's facts, nil when gathering failed.
	Facts *compiler.Facts
	// Inputs is what was gathered about the inputs (RPMs scanned, images
	// resolved, the scan's digests); nil when the definition did not load.
	Inputs *inputfacts.Gathered
	// prevLayout is the images/ layout of the previous build under
	// OutDir, decided here: gathering and the image writer read it.
	prevLayout string

	requiresOnce sync.Once
	requires     map[string][]string
}

// Compile loads the definition at p, gathers facts about its inputs and
// compiles it, once. The Compiled is non-nil whenever the definition loaded
// (its Def carries the files needed to render the diagnostics); its Plan is
// nil when gathering failed.
func Compile(ctx context.Context, req CompileRequest) (*Compiled, hcl.Diagnostics) {
	res, diags := compile(ctx, req)
	// The root cause of a pile of errors comes first, with the errors
	// that follow from it folded in; no message, whichever phase or
	// library wrote it, shows a secret.
	return res, compiler.Scrub(res.Def, compiler.FoldConsequences(diags))
}

func compile(ctx context.Context, req CompileRequest) (*Compiled, hcl.Diagnostics) {
	load := progress.Or(req.Progress).Start("loading the definition "+req.Path, -1)
	d, diags := sitedef.Load(req.Path, req.Load)
	res := &Compiled{Def: d}
	if diags.HasErrors() {
		load.Done(fmt.Errorf("the definition has errors"))
		return res, diags
	}
	load.Done(nil)
	if req.OutDir != "" && d.Bundle != nil {
		res.prevLayout = filepath.Join(req.OutDir, manifest.BundleDir(d.Bundle.Name, d.Bundle.Version), manifest.ImagesDir)
	}
	in, gds := inputfacts.Gather(ctx, d, req.inputs(res.prevLayout))
	res.Inputs = in
	facts := in.Facts
	diags = append(diags, gds...)
	if gds.HasErrors() {
		// The inputs could not all be read, so there is no plan. The
		// definition's own problems are still reported with the input
		// errors, not in a later run: the checks are run over the file
		// facts (which every path and glob has) without the packages,
		// baselines and images, whose checks the compiler then skips.
		_, cds := compiler.Compile(d, inputfacts.FileFacts(facts))
		return res, sortDiags(dedupeDiags(append(diags, notEchoes(cds, gds)...)))
	}
	res.Facts = facts
	plan, cds := compiler.Compile(d, facts)
	res.Plan = plan
	if !cds.HasErrors() {
		// The builder's check of the plan, run once here: validate
		// refuses every plan build would (the compiler's checks say it
		// first, at the attribute; this is the backstop), and Build takes
		// the checked plan.
		checked, err := builder.Check(plan)
		res.Checked = checked
		if err != nil {
			var at *hcl.Range
			if d.Bundle != nil {
				at = d.Bundle.DeclRange.Ptr()
			}
			cds = append(cds, errDiag(at, "Invalid bundle layout", err.Error()))
		}
	}
	return res, sortDiags(append(diags, cds...))
}

// notEchoes drops the diagnostics of cds at a place where gds already
// holds an error: the compiler's echo of an input that could not be read.
func notEchoes(cds, gds hcl.Diagnostics) hcl.Diagnostics {
	at := map[string]bool{}
	for _, g := range gds {
		if g.Severity == hcl.DiagError && g.Subject != nil {
			at[g.Subject.String()] = true
		}
	}
	var out hcl.Diagnostics
	for _, c := range cds {
		if c.Subject == nil || !at[c.Subject.String()] {
			out = append(out, c)
		}
	}
	return out
}

// dedupeDiags drops a diagnostic repeated with the same severity, summary,
// detail and place (a check made with and without facts).
func dedupeDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		k := fmt.Sprintf("%d|%s|%s", d.Severity, d.Summary, d.Detail)
		if d.Subject != nil {
			k += "|" + d.Subject.String()
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// sortDiags orders diagnostics by file, line and column (those without a
// place first), keeping the order of those at one place: every run prints
// them the same way, whichever phase found them.
func sortDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
	return diags
}

func errDiag(subject *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}
