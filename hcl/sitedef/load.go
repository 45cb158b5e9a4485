package sitedef

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/bdebundle/bundle/internal/regular"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Options says where variable values come from, lowest precedence first:
// defaults, BUNDLE_VAR_<name> in Env, VarFiles in order, Vars in order.
type Options struct {
	Vars     []string // "name=value" from --var
	VarFiles []string // --var-file paths
	Env      []string // environment, "KEY=value" (os.Environ())
}

// LockFile and VarsSuffix name files that a directory load skips: the lock
// file, and variable files (given with --var-file).
const (
	LockFile   = "bundle.lock.hcl"
	VarsSuffix = ".vars.hcl"
)

type root struct {
	Bundles         []*Bundle         `hcl:"bundle,block"`
	Variables       []*Variable       `hcl:"variable,block"`
	Locals          []*localsBlock    `hcl:"locals,block"`
	StorageProfiles []*StorageProfile `hcl:"storage_profile,block"`
	Repos           []*Repo           `hcl:"repo,block"`
	Distros         []*Distro         `hcl:"distro,block"`
	Clusters        []*Cluster        `hcl:"cluster,block"`
	Apps            []*App            `hcl:"app,block"`
	Jobs            []*Job            `hcl:"job,block"`
	Images          []*Image          `hcl:"image,block"`
	VMTemplates     []*VMTemplate     `hcl:"vm_template,block"`
	VCenters        []*VCenter        `hcl:"vcenter,block"`
	Upgrades        []*Upgrade        `hcl:"upgrade,block"`
}

type localsBlock struct {
	Body hcl.Body `hcl:",remain"`
}

// Files returns the definition files at path: path itself when it is a file,
// or every *.hcl directly inside it (sorted) except the lock and vars files.
func Files(path string) ([]string, error) {
	files, err := listHCL(path, false)
	if err == nil && len(files) == 0 {
		return nil, fmt.Errorf("no *.hcl files in %q", path)
	}
	return files, err
}

// listHCL lists path itself when it is a file, or the *.hcl files directly in
// it, sorted; all of them, or without the lock and vars files.
func listHCL(path string, all bool) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasPrefix(n, ".") {
			continue
		}
		if !all && (n == LockFile || strings.HasSuffix(n, VarsSuffix)) {
			continue
		}
		files = append(files, filepath.Join(path, n))
	}
	return files, nil
}

// Load parses, evaluates and resolves the definition at path. The returned
// Definition is non-nil even when diagnostics hold errors, so that its Files
// can be used to render them.
func Load(path string, opts Options) (*Definition, hcl.Diagnostics) {
	d, diags := load(path, opts)
	locals := make([]string, 0, len(d.Locals))
	for n := range d.Locals {
		locals = append(locals, n)
	}
	addSuggestions(diags, d.Files, d.Variables, locals)
	return d, diags
}

func load(path string, opts Options) (*Definition, hcl.Diagnostics) {
	d := &Definition{Path: path, Files: map[string]*hcl.File{}, Locals: map[string]cty.Value{}, Sensitive: map[string]bool{}}
	files, err := Files(path)
	if err != nil {
		return d, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read definition", Detail: err.Error()}}
	}
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	var bodies []*hcl.File
	for _, f := range files {
		src, err := regular.ReadFile(f, MaxFileSize)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read definition", Detail: err.Error()})
			continue
		}
		if ds := checkNesting(src, f); ds.HasErrors() {
			diags = append(diags, ds...)
			continue
		}
		file, ds := p.ParseHCL(src, f)
		diags = append(diags, ds...)
		if file != nil {
			bodies = append(bodies, file)
		}
	}
	d.Files = p.Files()
	if diags.HasErrors() {
		return d, diags
	}

	// Pass 1: variables and locals.
	varSchema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}, {Type: "locals"}}}
	var vars []*Variable
	var localAttrs []*hcl.Attribute
	for _, f := range bodies {
		content, _, ds := f.Body.PartialContent(varSchema)
		diags = append(diags, ds...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				v := &Variable{Name: b.Labels[0], DeclRange: b.DefRange}
				ds := gohcl.DecodeBody(b.Body, nil, v)
				diags = append(diags, ds...)
				v.Name, v.DeclRange, v.Body = b.Labels[0], b.DefRange, b.Body
				vars = append(vars, v)
			case "locals":
				attrs, ds := b.Body.JustAttributes()
				diags = append(diags, ds...)
				for _, a := range attrs {
					localAttrs = append(localAttrs, a)
				}
			}
		}
	}
	diags = append(diags, checkDuplicates("variable", vars, func(v *Variable) (string, hcl.Range) { return v.Name, v.DeclRange })...)
	d.VarFiles = map[string]*hcl.File{}
	ds, secretRanges := resolveVariables(vars, opts, d.VarFiles)
	diags = append(diags, ds...)
	d.secretRanges = secretRanges
	d.Variables = vars
	sensitiveVars := map[string]bool{}
	varVals := map[string]cty.Value{}
	for _, v := range vars {
		varVals[v.Name] = v.Value
		if v.Sensitive {
			sensitiveVars[v.Name] = true
		}
	}
	locals, sensitiveLocals, ds := evalLocals(localAttrs, varVals, sensitiveVars)
	diags = append(diags, ds...)
	d.Locals = locals
	for n := range sensitiveLocals {
		d.Sensitive["locals."+n] = true
	}
	if diags.HasErrors() {
		diags = dedupe(diags)
		redact(diags, sensitiveVars, sensitiveLocals)
		return d, diags
	}

	// Pass 2: every block, evaluated.
	ctx := evalContext(varVals, locals)
	if ds := checkSizes(bodies, ctx); ds.HasErrors() {
		diags = append(diags, ds...)
		redact(diags, sensitiveVars, sensitiveLocals)
		return d, diags
	}
	var all root
	for _, f := range bodies {
		var r root
		diags = append(diags, gohcl.DecodeBody(f.Body, ctx, &r)...)
		dir := filepath.Dir(f.Body.MissingItemRange().Filename)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		for _, x := range r.Repos {
			x.Dir = dir
		}
		for _, x := range r.Distros {
			x.Dir = dir
		}
		for _, x := range r.Images {
			x.Dir = dir
		}
		for _, x := range r.VMTemplates {
			x.Dir = dir
		}
		for _, x := range r.Upgrades {
			x.Dir = dir
		}
		all.Bundles = append(all.Bundles, r.Bundles...)
		all.StorageProfiles = append(all.StorageProfiles, r.StorageProfiles...)
		all.Repos = append(all.Repos, r.Repos...)
		all.Distros = append(all.Distros, r.Distros...)
		all.Clusters = append(all.Clusters, r.Clusters...)
		all.Apps = append(all.Apps, r.Apps...)
		all.Jobs = append(all.Jobs, r.Jobs...)
		all.Images = append(all.Images, r.Images...)
		all.VMTemplates = append(all.VMTemplates, r.VMTemplates...)
		all.VCenters = append(all.VCenters, r.VCenters...)
		all.Upgrades = append(all.Upgrades, r.Upgrades...)
		markSensitive(f.Body, sensitiveVars, sensitiveLocals, d.Sensitive)
	}
	switch len(all.Bundles) {
	case 0:
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing bundle block",
			Detail:  `A definition needs exactly one bundle block, like: bundle "mesos-site" { version = "1.0.0" }`,
			Subject: missingRange(bodies)})
	default:
		d.Bundle = all.Bundles[0]
		for _, b := range all.Bundles[1:] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate bundle block",
				Detail: fmt.Sprintf("Only one bundle block is allowed. Another was defined at %s.", all.Bundles[0].DeclRange), Subject: b.DeclRange.Ptr()})
		}
	}
	if len(all.Upgrades) > 0 {
		d.Upgrade = all.Upgrades[0]
		for _, u := range all.Upgrades[1:] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate upgrade block",
				Detail: fmt.Sprintf("Only one upgrade block is allowed. Another was defined at %s.", all.Upgrades[0].DeclRange), Subject: u.DeclRange.Ptr()})
		}
	}
	d.StorageProfiles, d.Repos, d.Distros, d.Clusters = all.StorageProfiles, all.Repos, all.Distros, all.Clusters
	d.Apps, d.Images, d.VMTemplates, d.VCenters = all.Apps, all.Images, all.VMTemplates, all.VCenters
	d.Jobs = all.Jobs
	diags = append(diags, d.checkAllDuplicates()...)
	if !diags.HasErrors() {
		diags = append(diags, d.resolveReferences()...)
	}
	d.Digest = digest(d, bodies)
	diags = dedupe(diags)
	redact(diags, sensitiveVars, sensitiveLocals)
	return d, diags
}

func missingRange(files []*hcl.File) *hcl.Range {
	if len(files) == 0 {
		return nil
	}
	r := files[0].Body.MissingItemRange()
	return &r
}

const unknownValueDetail = "Unsuitable value: value must be known"

// dedupe drops diagnostics repeated with the same summary at the same place
// (pass 2 re-decodes variable blocks).
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	others := false
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Detail != unknownValueDetail {
			others = true
		}
	}
	for _, d := range diags {
		if others && d.Detail == unknownValueDetail {
			continue // an echo of the error that made the value unknown
		}
		k := d.Summary + "|" + d.Detail
		if d.Subject != nil {
			k += "|" + d.Subject.String()
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

func checkDuplicates[T any](kind string, xs []T, key func(T) (string, hcl.Range)) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]hcl.Range{}
	for _, x := range xs {
		name, rng := key(x)
		if prev, ok := first[name]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", kind),
				Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Names must be unique.", kind, name, prev),
				Subject:  rng.Ptr(),
			})
			continue
		}
		first[name] = rng
	}
	return diags
}

func (d *Definition) checkAllDuplicates() hcl.Diagnostics {
	var diags hcl.Diagnostics
	diags = append(diags, checkDuplicates("storage_profile", d.StorageProfiles, func(x *StorageProfile) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("repo", d.Repos, func(x *Repo) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("distro", d.Distros, func(x *Distro) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("cluster", d.Clusters, func(x *Cluster) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("app", d.Apps, func(x *App) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("job", d.Jobs, func(x *Job) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("image", d.Images, func(x *Image) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("vm_template", d.VMTemplates, func(x *VMTemplate) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	diags = append(diags, checkDuplicates("vcenter", d.VCenters, func(x *VCenter) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	for _, c := range d.Clusters {
		diags = append(diags, checkDuplicates("node_group", c.NodeGroups, func(x *NodeGroup) (string, hcl.Range) { return x.Name, x.DeclRange })...)
	}
	for _, t := range d.VMTemplates {
		diags = append(diags, checkDuplicates("property", t.Properties, func(x *Property) (string, hcl.Range) { return x.Key, x.DeclRange })...)
	}
	return diags
}

// digest hashes the normalized definition: each file formatted canonically
// (by base name, sorted) and every variable's resolved value. Sensitive
// variables enter only by name: their values and their defaults in the
// source are replaced by a marker, so the digest (published in bundle.json)
// cannot be used to test a guessed secret offline. The digest thus names the
// definition with its secrets left out, and stays reproducible.
func digest(d *Definition, files []*hcl.File) string {
	h := sha256.New()
	type named struct {
		name string
		src  []byte
	}
	secret := map[string]bool{}
	for _, v := range d.Variables {
		if v.Sensitive {
			secret[v.Name] = true
		}
	}
	var ns []named
	for name, f := range d.Files {
		ns = append(ns, named{filepath.Base(name), hclwrite.Format(withoutSecretDefaults(f.Bytes, name, secret))})
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].name < ns[j].name })
	for _, n := range ns {
		fmt.Fprintf(h, "file %s %d\n", n.name, len(n.src))
		h.Write(n.src)
	}
	for _, v := range d.Variables {
		if v.Sensitive {
			fmt.Fprintf(h, "var %s sensitive\n", v.Name)
			continue
		}
		if v.Value == cty.NilVal || !v.Value.IsWhollyKnown() {
			continue
		}
		b, err := ctyjson.Marshal(v.Value, v.Value.Type())
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "var %s %d\n", v.Name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SensitiveMarker replaces a sensitive value where the definition is hashed.
const SensitiveMarker = "(sensitive)"

// withoutSecretDefaults returns src with the default of every variable block
// named in secret replaced by SensitiveMarker.
func withoutSecretDefaults(src []byte, name string, secret map[string]bool) []byte {
	if len(secret) == 0 {
		return src
	}
	f, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return src
	}
	for _, b := range f.Body().Blocks() {
		if b.Type() == "variable" && len(b.Labels()) == 1 && secret[b.Labels()[0]] && b.Body().GetAttribute("default") != nil {
			b.Body().SetAttributeValue("default", cty.StringVal(SensitiveMarker))
		}
	}
	return f.Bytes()
}

// markSensitive records "type.name.attr" for every attribute (in any nested
// block) whose expression refers to a sensitive variable or local.
func markSensitive(body hcl.Body, vars, locals map[string]bool, out map[string]bool) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	for _, b := range sb.Blocks {
		prefix := b.Type
		if len(b.Labels) > 0 {
			prefix += "." + b.Labels[0]
		}
		walkSensitive(b.Body, prefix, vars, locals, out)
	}
}

func walkSensitive(b *hclsyntax.Body, prefix string, vars, locals map[string]bool, out map[string]bool) {
	for name, a := range b.Attributes {
		if refersSensitive(a.Expr, vars, locals) {
			out[prefix+"."+name] = true
		}
	}
	for _, nb := range b.Blocks {
		p := prefix + "." + nb.Type
		if len(nb.Labels) > 0 {
			p += "." + nb.Labels[0]
		}
		walkSensitive(nb.Body, p, vars, locals, out)
	}
}

func refersSensitive(e hcl.Expression, vars, locals map[string]bool) bool {
	for _, t := range e.Variables() {
		if len(t) < 2 {
			continue
		}
		attr, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		switch t.RootName() {
		case "var":
			if vars[attr.Name] {
				return true
			}
		case "local":
			if locals[attr.Name] {
				return true
			}
		}
	}
	return false
}

// SensitiveStrings returns every string that derives from a sensitive
// variable: the variables' values, the sensitive locals' values and the
// value of every attribute (in any block, at any depth) whose expression
// refers to one, evaluated again. It works on a definition that failed to
// load too (what was evaluated is there), so that messages about it can
// be scrubbed.
func (d *Definition) SensitiveStrings() []string {
	var out []string
	seen := map[string]bool{}
	add := func(v cty.Value) {
		EachString(v, func(s string) {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		})
	}
	vars := map[string]bool{}
	varVals := map[string]cty.Value{}
	for _, v := range d.Variables {
		if v.Value != cty.NilVal {
			varVals[v.Name] = v.Value
		}
		if v.Sensitive {
			vars[v.Name] = true
			add(v.Value)
		}
	}
	if len(vars) == 0 {
		return nil
	}
	locals := map[string]bool{}
	for n, v := range d.Locals {
		if d.Sensitive["locals."+n] {
			locals[n] = true
			add(v)
		}
	}
	ctx := evalContext(varVals, d.Locals)
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, a := range b.Attributes {
			if !refersSensitive(a.Expr, vars, locals) || checkForSize(a.Expr, ctx).HasErrors() {
				continue
			}
			if v, diags := a.Expr.Value(ctx); !diags.HasErrors() {
				add(v)
			}
		}
		for _, nb := range b.Blocks {
			walk(nb.Body)
		}
	}
	names := make([]string, 0, len(d.Files))
	for n := range d.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if sb, ok := d.Files[n].Body.(*hclsyntax.Body); ok {
			walk(sb)
		}
	}
	return out
}

// EachString calls f with every known string inside v, at any depth
// (marks removed; null and unknown values hold none).
func EachString(v cty.Value, f func(string)) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return
	}
	v, _ = v.Unmark()
	ty := v.Type()
	switch {
	case ty == cty.String:
		f(v.AsString())
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType() || ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			EachString(e, f)
		}
	}
}
