package vcenter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Action is what a deploy does to one object.
type Action string

// The actions of a plan.
const (
	Create  Action = "create"  // the object is absent and will be created
	Update  Action = "update"  // the object differs and will be overwritten
	Replace Action = "replace" // the object differs and will be rebuilt, then swapped in
	Delete  Action = "delete"  // the object is no longer in the bundle
	Leave   Action = "leave"   // the object matches the bundle
)

// Kind is the type of object an Item is about.
type Kind string

// The kinds of objects a deploy touches.
const (
	KindFile     Kind = "file"     // a file of the serengeti/ tree on the datastore
	KindLibrary  Kind = "library"  // the content library
	KindTemplate Kind = "template" // a VM template (library item or folder template)
	KindImages   Kind = "images"   // the bundle's images in the site registry
	KindGuest    Kind = "guest"    // the serengeti/ tree inside the management server
)

// Item is one object of a plan.
type Item struct {
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	Size   int64  `json:"size"`
	Where  string `json:"where"`
	SHA256 string `json:"sha256,omitempty"`
	// Steps are the commands a guest item runs in the management server.
	Steps []string `json:"steps,omitempty"`

	file     File
	template Template
	existing string // ID of the library item or VM being replaced
}

// DeployPlan is what a deploy will do; Apply carries it out.
type DeployPlan struct {
	Bundle        string `json:"bundle"`
	Version       string `json:"version"`
	Server        string `json:"server"`
	Datacenter    string `json:"datacenter"`
	Datastore     string `json:"datastore"`
	DatastorePath string `json:"datastore_path"`
	Items         []Item `json:"items"`
	// Warnings are things the user should know before applying.
	Warnings []string `json:"warnings,omitempty"`

	b     *Bundle
	cfg   Config
	inv   *inventory
	state *deployState
	dirs  map[string]bool // datastore folders (relative to DatastorePath) that exist
	lib   *library.Library
	lock  *dsLock // held by Deploy for Apply; nil for a dry run
}

// Changes counts the items that are not Leave.
func (p *DeployPlan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Action != Leave {
			n++
		}
	}
	return n
}

// UploadBytes sums the sizes of the items to create, update or replace.
func (p *DeployPlan) UploadBytes() int64 {
	var n int64
	for _, it := range p.Items {
		switch it.Action {
		case Create, Update, Replace:
			n += it.Size
		}
	}
	return n
}

// NoChangesMessage is printed when a site already matches the bundle.
func (p *DeployPlan) NoChangesMessage() string {
	return fmt.Sprintf("No changes. The site matches bundle %s %s.", p.Bundle, p.Version)
}

var actionSign = map[Action]string{Create: "+", Update: "~", Replace: "-/+", Delete: "-", Leave: "="}

// Write prints the plan like `terraform plan`: each object to create,
// update, replace or delete with its size; unchanged objects are counted per
// kind unless verbose lists them too.
func (p *DeployPlan) Write(w io.Writer, verbose bool) error {
	ew := &errWriter{w: w}
	ew.printf("Deploy bundle %s %s to vCenter %s, datacenter %s, datastore folder [%s] %s\n\n",
		p.Bundle, p.Version, p.Server, p.Datacenter, p.Datastore, p.DatastorePath)
	for _, w := range p.Warnings {
		ew.printf("Warning: %s\n\n", w)
	}
	// The name column is as wide as the longest name shown (long RPM
	// paths included), so that sizes and places stay in their columns.
	width := 60
	for _, it := range p.Items {
		if it.Action != Leave || verbose {
			width = max(width, len(it.Name))
		}
	}
	left := map[Kind]int{}
	leftSize := map[Kind]int64{}
	counts := map[Action]int{}
	for _, it := range p.Items {
		counts[it.Action]++
		if it.Action == Leave && !verbose {
			left[it.Kind]++
			leftSize[it.Kind] += it.Size
			continue
		}
		where := it.Where
		if it.Kind == KindFile {
			where = ""
		}
		ew.printf("  %3s %-8s %-*s %10s  %s\n", actionSign[it.Action], it.Kind, width, it.Name, progress.Bytes(it.Size), where)
		for _, st := range it.Steps {
			ew.printf("        then: %s\n", st)
		}
	}
	kinds := make([]string, 0, len(left))
	for k := range left {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		objects := "(1 object)"
		if n := left[Kind(k)]; n != 1 {
			objects = fmt.Sprintf("(%d objects)", n)
		}
		ew.printf("  %3s %-8s %-*s %10s  unchanged\n", "=", k, width, objects, progress.Bytes(leftSize[Kind(k)]))
	}
	if p.Changes() == 0 {
		ew.printf("\n%s\n", p.NoChangesMessage())
		return ew.err
	}
	ew.printf("\nPlan: %d to create, %d to update, %d to replace, %d to delete, %d unchanged; %s to upload.\n",
		counts[Create], counts[Update], counts[Replace], counts[Delete], counts[Leave], progress.Bytes(p.UploadBytes()))
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// Plan compares the bundle in bundleDir with what is in vCenter and returns
// what a deploy would do. It changes nothing.
func Plan(ctx context.Context, s *Session, bundleDir string, cfg Config) (*DeployPlan, error) {
	b, err := LoadBundle(bundleDir)
	if err != nil {
		return nil, err
	}
	return planBundle(ctx, s, b, cfg)
}

func planBundle(ctx context.Context, s *Session, b *Bundle, cfg Config) (*DeployPlan, error) {
	if cfg.DatastorePath == "" {
		cfg.DatastorePath = defaultDatastorePath(b)
	}
	inv, err := s.resolve(ctx, cfg, len(b.Templates) > 0)
	if err != nil {
		return nil, err
	}
	p := &DeployPlan{
		Bundle: b.Name, Version: b.Version, Server: cfg.URL.Host,
		Datacenter: inv.dc.Name(), Datastore: inv.ds.Name(), DatastorePath: cfg.DatastorePath,
		b: b, cfg: cfg, inv: inv,
	}
	if err := p.planFiles(ctx, s); err != nil {
		return nil, err
	}
	if err := p.planTemplates(ctx, s); err != nil {
		return nil, err
	}
	p.planImages()
	if err := p.planGuest(ctx, s); err != nil {
		return nil, err
	}
	return p, nil
}

// defaultDatastorePath is the datastore folder of a bundle's deploy when
// neither the target nor the flags name one.
func defaultDatastorePath(b *Bundle) string { return "bundles/" + b.Name }

func (p *DeployPlan) dsPath(rel string) string {
	return p.inv.ds.Path(path.Join(p.DatastorePath, rel))
}

// planFiles compares the serengeti/ tree with the state file and a listing
// of the datastore folder.
func (p *DeployPlan) planFiles(ctx context.Context, s *Session) error {
	st, warning, err := readState(ctx, p.inv, p.DatastorePath)
	if err != nil {
		return err
	}
	if warning != "" {
		p.Warnings = append(p.Warnings, warning)
	}
	// Deploy owns only what it wrote: a folder whose state names another
	// bundle is that bundle's, and nothing in it is overwritten or deleted.
	if st.Bundle != "" && st.Bundle != p.b.Name {
		return &ConfigError{Err: fmt.Errorf("%w: %s holds the deploy state of bundle %q (version %s), not of %q; deploy each bundle to its own folder (--datastore-path)",
			ErrOtherBundle, p.dsPath(StateFile), st.Bundle, st.Version, p.b.Name)}
	}
	p.state = st
	listing, dirs, err := listDatastore(ctx, p.inv, p.DatastorePath)
	if err != nil {
		return err
	}
	p.dirs = dirs
	inBundle := map[string]bool{}
	for _, f := range p.b.serengetiFiles() {
		inBundle[f.Path] = true
		it := Item{Kind: KindFile, Name: f.Path, Size: f.Size, Where: p.dsPath(f.Path), SHA256: f.SHA256, file: f}
		size, present := listing[f.Path]
		switch {
		case !present:
			it.Action = Create
		case st.Files[f.Path] == f.SHA256 && size == f.Size:
			it.Action = Leave
			slog.Debug("upload skipped", "path", f.Path, "reason", "unchanged, sha256 matches state")
		default:
			it.Action = Update
		}
		p.Items = append(p.Items, it)
	}
	var gone, kept []string
	keptFiles, keptDirs := p.keptByManifest(ctx)
	for name := range st.Files {
		// Only files of the serengeti/ tree deploy uploads are ever
		// deleted, whatever a damaged state file lists, and never what
		// an entry of the bundle's distro manifest points at.
		if !inBundle[name] && strings.HasPrefix(name, "serengeti/") && manifest.CheckRelPath(name) == nil {
			if keptFiles[name] || slices.ContainsFunc(keptDirs, func(d string) bool { return strings.HasPrefix(name, d) }) {
				kept = append(kept, name)
				continue
			}
			gone = append(gone, name)
		}
	}
	if len(kept) > 0 {
		sort.Strings(kept)
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d files the bundle no longer carries are kept, because an entry of its distro manifest points at them: %s", len(kept), strings.Join(kept, ", ")))
	}
	sort.Strings(gone)
	for _, name := range gone {
		if size, ok := listing[name]; ok {
			p.Items = append(p.Items, Item{Kind: KindFile, Name: name, Action: Delete, Size: size, Where: p.dsPath(name)})
		}
	}
	return nil
}

// listDatastore lists the files below dir on the datastore: path (relative
// to dir) → size, and the set of folders present.
func listDatastore(ctx context.Context, inv *inventory, dir string) (map[string]int64, map[string]bool, error) {
	files := map[string]int64{}
	dirs := map[string]bool{}
	b, err := inv.ds.Browser(ctx)
	if err != nil {
		return nil, nil, vcErr("opening the browser of datastore "+inv.ds.Name(), err)
	}
	spec := types.HostDatastoreBrowserSearchSpec{
		MatchPattern: []string{"*"},
		Details:      &types.FileQueryFlags{FileType: true, FileSize: true},
	}
	root := inv.ds.Path(dir)
	task, err := b.SearchDatastoreSubFolders(ctx, root, &spec)
	if err != nil {
		return nil, nil, vcErr("listing "+root, err)
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		if fault.Is(err, &types.FileNotFound{}) {
			return files, dirs, nil
		}
		return nil, nil, vcErr("listing "+root, err)
	}
	res, ok := info.Result.(types.ArrayOfHostDatastoreBrowserSearchResults)
	if !ok {
		return files, dirs, nil
	}
	for _, r := range res.HostDatastoreBrowserSearchResults {
		var fp object.DatastorePath
		fp.FromString(r.FolderPath)
		rel := strings.Trim(strings.TrimPrefix(strings.Trim(fp.Path, "/"), dir), "/")
		dirs[rel] = true
		for _, f := range r.File {
			fi := f.GetFileInfo()
			name := path.Join(rel, fi.Path)
			if _, isDir := f.(*types.FolderFileInfo); isDir {
				dirs[name] = true
				continue
			}
			files[name] = fi.FileSize
		}
	}
	return files, dirs, nil
}

var markerRE = regexp.MustCompile(`template-sha256: ([0-9a-f]{64})`)

// templateMarker is the note stored in a library item's description or a
// VM template's annotation that records what was deployed.
func templateMarker(b *Bundle, digest string) string {
	return fmt.Sprintf("Deployed from bundle %s %s.\ntemplate-sha256: %s", b.Name, b.Version, digest)
}

func markerDigest(note string) string {
	if m := markerRE.FindStringSubmatch(note); m != nil {
		return m[1]
	}
	return ""
}

const partialSuffix = ".bundle-partial"

func (p *DeployPlan) planTemplates(ctx context.Context, s *Session) error {
	if len(p.b.Templates) == 0 {
		return nil
	}
	if p.cfg.Library != "" {
		return p.planLibrary(ctx, s)
	}
	for _, t := range p.b.Templates {
		digest, size := p.b.templateDigest(t)
		it := Item{Kind: KindTemplate, Name: t.Name, Size: size, SHA256: digest, template: t,
			Where: "VM template in " + p.inv.fpath, Action: Create}
		vm, err := s.finder.VirtualMachine(ctx, path.Join(p.inv.fpath, t.Name))
		if err == nil {
			var m mo.VirtualMachine
			if err := vm.Properties(ctx, vm.Reference(), []string{"config.annotation"}, &m); err != nil {
				return vcErr("reading VM "+vm.InventoryPath, err)
			}
			it.existing = vm.Reference().Value
			it.Action = Replace
			if m.Config != nil && markerDigest(m.Config.Annotation) == digest {
				it.Action = Leave
				slog.Debug("import skipped", "template", t.Name, "reason", "unchanged, sha256 matches the VM's annotation")
			}
		} else if !isNotFound(err) {
			return vcErr("finding VM "+path.Join(p.inv.fpath, t.Name), err)
		}
		p.Items = append(p.Items, it)
	}
	return nil
}

func (p *DeployPlan) planLibrary(ctx context.Context, s *Session) error {
	rc, err := s.restClient(ctx)
	if err != nil {
		return err
	}
	m := library.NewManager(rc)
	ids, err := m.FindLibrary(ctx, library.Find{Name: p.cfg.Library})
	if err != nil {
		return vcErr(fmt.Sprintf("finding content library %q", p.cfg.Library), err)
	}
	where := "content library " + p.cfg.Library
	var items []library.Item
	if len(ids) == 0 {
		p.Items = append(p.Items, Item{Kind: KindLibrary, Name: p.cfg.Library, Action: Create, Where: "on datastore " + p.inv.ds.Name()})
	} else {
		p.lib, err = m.GetLibraryByID(ctx, ids[0])
		if err != nil {
			return vcErr(fmt.Sprintf("reading content library %q", p.cfg.Library), err)
		}
		items, err = m.GetLibraryItems(ctx, p.lib.ID)
		if err != nil {
			return vcErr(fmt.Sprintf("listing content library %q", p.cfg.Library), err)
		}
	}
	for _, t := range p.b.Templates {
		digest, size := p.b.templateDigest(t)
		it := Item{Kind: KindTemplate, Name: t.Name, Size: size, SHA256: digest, template: t, Where: where, Action: Create}
		for _, li := range items {
			if li.Name != t.Name {
				continue
			}
			it.existing = li.ID
			it.Action = Replace
			if li.Description != nil && markerDigest(*li.Description) == digest && li.Type == library.ItemTypeOVF {
				it.Action = Leave
				slog.Debug("import skipped", "template", t.Name, "reason", "unchanged, sha256 matches the library item")
			}
		}
		p.Items = append(p.Items, it)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *find.NotFoundError
	return errors.As(err, &nf)
}

func (p *DeployPlan) planImages() {
	if p.cfg.Registry == "" || len(p.b.Images) == 0 {
		return
	}
	digest, size := p.b.imageDigest()
	it := Item{Kind: KindImages, Name: fmt.Sprintf("%d images", len(p.b.Images)), Size: size, SHA256: digest,
		Where: "registry " + p.cfg.Registry, Action: Create}
	if p.state.Images[p.cfg.Registry] == digest {
		it.Action = Leave
		slog.Debug("push skipped", "registry", p.cfg.Registry, "reason", "unchanged, sha256 matches state")
	}
	p.Items = append(p.Items, it)
}

func (p *DeployPlan) planGuest(ctx context.Context, s *Session) error {
	if p.cfg.ManagementServer == "" {
		return nil
	}
	vm, err := s.finder.VirtualMachine(ctx, p.cfg.ManagementServer)
	if err != nil {
		return vcErr(fmt.Sprintf("finding management server VM %q", p.cfg.ManagementServer), err)
	}
	digest, size := p.b.treeDigest()
	steps, err := guestSteps(p.b)
	if err != nil {
		return &manifest.VerifyError{Path: p.b.Dir, Err: err}
	}
	it := Item{Kind: KindGuest, Name: "serengeti/", Size: size, SHA256: digest, Steps: steps,
		Where: "management server " + vm.Name(), Action: Update, existing: vm.Reference().Value}
	if p.state.Guest[p.cfg.ManagementServer] == digest {
		it.Action = Leave
		slog.Debug("guest copy skipped", "vm", p.cfg.ManagementServer, "reason", "unchanged, sha256 matches state")
	}
	p.Items = append(p.Items, it)
	return nil
}
