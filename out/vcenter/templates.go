package vcenter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// templates creates the content library if needed and imports every new or
// changed template. A template is built under a staging name and swapped
// in only when complete, so a failure never leaves a half-imported
// template under its real name, and the staging copy is removed.
func (a *applier) templates(ctx context.Context) error {
	for _, it := range a.itemsOf(KindLibrary, Create) {
		if err := a.createLibrary(ctx); err != nil {
			return err
		}
		a.done(it)
	}
	for _, it := range a.itemsOf(KindTemplate, Create, Replace) {
		retried, err := retry(ctx, a.o, func() error {
			if a.p.cfg.Library != "" {
				return a.libraryImport(ctx, it)
			}
			return a.folderImport(ctx, it)
		})
		a.out.Retried += retried
		if err != nil {
			return vcErr(fmt.Sprintf("importing template %s into %s", it.Name, it.Where), err)
		}
		a.out.Templates++
		a.done(it)
	}
	return nil
}

func (a *applier) createLibrary(ctx context.Context) error {
	rc, err := a.s.restClient(ctx)
	if err != nil {
		return err
	}
	m := library.NewManager(rc)
	desc := "VM templates deployed from bundles"
	id, err := m.CreateLibrary(ctx, library.Library{
		Name:        a.p.cfg.Library,
		Description: &desc,
		Type:        "LOCAL",
		Storage:     []library.StorageBacking{{DatastoreID: a.p.inv.ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		return vcErr(fmt.Sprintf("creating content library %q on datastore %s", a.p.cfg.Library, a.p.inv.ds.Name()), err)
	}
	a.p.lib, err = m.GetLibraryByID(ctx, id)
	return vcErr(fmt.Sprintf("reading content library %q", a.p.cfg.Library), err)
}

// templateUploads lists the files of a template to upload: the .ovf first,
// then the files it references, with their sizes and sha256s.
func (a *applier) templateUploads(t Template) ([]File, error) {
	byPath := map[string]File{}
	for _, f := range a.p.b.templateFiles(t) {
		byPath[f.Path] = f
	}
	data, err := readChecked(a.p.b.Dir, byPath[t.OVF])
	if err != nil {
		return nil, err
	}
	env, err := importer.ReadEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", t.OVF, err)
	}
	out := []File{byPath[t.OVF]}
	dir := path.Dir(t.OVF)
	for _, r := range env.References {
		f, ok := byPath[path.Join(dir, r.Href)]
		if !ok || manifest.CheckRelPath(r.Href) != nil {
			return nil, fmt.Errorf("%s references %q, which is not a file of the bundle", t.OVF, r.Href)
		}
		out = append(out, f)
	}
	return out, nil
}

func (a *applier) libraryImport(ctx context.Context, it Item) error {
	rc, err := a.s.restClient(ctx)
	if err != nil {
		return err
	}
	m := library.NewManager(rc)
	lib := a.p.lib
	t := it.template
	files, err := a.templateUploads(t)
	if err != nil {
		return err
	}
	staging := t.Name + partialSuffix
	if err := a.deleteLibraryItems(ctx, m, lib.ID, staging); err != nil {
		return err
	}
	id, err := m.CreateLibraryItem(ctx, library.Item{Name: staging, Type: library.ItemTypeOVF, LibraryID: lib.ID})
	if err != nil {
		return fmt.Errorf("creating library item %q: %w", staging, err)
	}
	fail := func(err error, session string) error {
		bg := context.WithoutCancel(ctx)
		if session != "" {
			_ = m.CancelLibraryItemUpdateSession(bg, session)
		}
		if derr := m.DeleteLibraryItem(bg, &library.Item{ID: id}); derr != nil {
			return fmt.Errorf("%w (and removing the partial library item %q failed: %v)", err, staging, derr)
		}
		return err
	}
	session, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: id})
	if err != nil {
		return fail(fmt.Errorf("starting the upload of %q: %w", staging, err), "")
	}
	for _, f := range files {
		if err := a.libraryUpload(ctx, m, session, f); err != nil {
			return fail(err, session)
		}
	}
	if err := m.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		return fail(fmt.Errorf("completing the upload of %q: %w", staging, err), session)
	}
	if it.existing != "" {
		if err := m.DeleteLibraryItem(ctx, &library.Item{ID: it.existing}); err != nil {
			return fmt.Errorf("removing the previous library item %q: %w", t.Name, err)
		}
	}
	note := templateMarker(a.p.b, it.SHA256)
	if err := m.UpdateLibraryItem(ctx, &library.Item{ID: id, Name: t.Name, Description: &note}); err != nil {
		return fmt.Errorf("renaming library item %q to %q: %w", staging, t.Name, err)
	}
	return nil
}

func (a *applier) deleteLibraryItems(ctx context.Context, m *library.Manager, libID, name string) error {
	ids, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libID, Name: name})
	if err != nil {
		return fmt.Errorf("finding library item %q: %w", name, err)
	}
	for _, id := range ids {
		if err := m.DeleteLibraryItem(ctx, &library.Item{ID: id}); err != nil {
			return fmt.Errorf("removing the partial library item %q: %w", name, err)
		}
	}
	return nil
}

func (a *applier) libraryUpload(ctx context.Context, m *library.Manager, session string, f File) error {
	name := path.Base(f.Path)
	fh, err := openChecked(a.p.b.Dir, f)
	if err != nil {
		return err
	}
	defer fh.Close()
	up, err := m.AddLibraryItemFile(ctx, session, library.UpdateFile{
		Name: name, SourceType: "PUSH", Size: f.Size,
		Checksum: &library.Checksum{Algorithm: "SHA256", Checksum: f.SHA256},
	})
	if err != nil {
		return fmt.Errorf("adding %q to the library item: %w", name, err)
	}
	u, err := url.Parse(up.UploadEndpoint.URI)
	if err != nil {
		return fmt.Errorf("upload endpoint of %q: %w", name, err)
	}
	task := a.o.Progress.Start(f.Path, f.Size)
	p := soap.DefaultUpload
	p.ContentLength = f.Size
	rc, _ := a.s.restClient(ctx)
	err = rc.Upload(ctx, progress.Reader(fh, task), u, &p)
	if err == nil {
		err = fh.done()
	} else if fh.err != nil {
		err = fh.err
	}
	task.Done(err)
	if err != nil {
		return fmt.Errorf("uploading %q: %w", f.Path, err)
	}
	return nil
}

// folderImport imports the OVF as a VM under a staging name, marks it a
// template, then replaces the previous template and takes its name. On
// failure the import lease is aborted and the staging VM destroyed.
func (a *applier) folderImport(ctx context.Context, it Item) error {
	t := it.template
	inv := a.p.inv
	// The staging name carries the digest: a VM's files live in a folder
	// named after the VM at creation, which a rename does not move.
	staging := stagingVMName(t.Name, it.SHA256)
	if err := a.destroyVM(ctx, path.Join(inv.fpath, t.Name+stagingVMPrefix+"*")); err != nil {
		return err
	}
	ovfFile := filepath.Join(a.p.b.Dir, filepath.FromSlash(t.OVF))
	arch := &checkedArchive{dir: a.p.b.Dir, ovf: ovfFile, files: map[string]File{}, r: a.o.Progress}
	for _, f := range a.p.b.templateFiles(t) {
		arch.files[filepath.Join(a.p.b.Dir, filepath.FromSlash(f.Path))] = f
	}
	data, err := readChecked(a.p.b.Dir, arch.files[ovfFile])
	if err != nil {
		return err
	}
	env, err := importer.ReadEnvelope(data)
	if err != nil {
		return fmt.Errorf("reading %q: %w", t.OVF, err)
	}
	opts := importer.Options{Name: &staging, DiskProvisioning: "thin", Annotation: templateMarker(a.p.b, it.SHA256)}
	if a.p.cfg.Network != "" && env.Network != nil {
		for _, n := range env.Network.Networks {
			opts.NetworkMapping = append(opts.NetworkMapping, importer.Network{Name: n.Name, Network: a.p.cfg.Network})
		}
	}
	imp := importer.Importer{
		Client: a.s.Vim, Finder: a.s.finder,
		Datacenter: inv.dc, Datastore: inv.ds, ResourcePool: inv.pool, Folder: inv.folder,
		Archive: arch,
		Log: func(msg string) (int, error) {
			slog.Debug("ovf import", "template", t.Name, "msg", strings.TrimSpace(msg))
			return len(msg), nil
		},
	}
	ref, err := imp.Import(ctx, ovfFile, opts)
	if err == nil {
		err = arch.check()
	}
	if err != nil {
		if derr := a.destroyVM(context.WithoutCancel(ctx), path.Join(inv.fpath, staging)); derr != nil {
			return fmt.Errorf("%w (and removing the partial VM %q failed: %v)", err, staging, derr)
		}
		return err
	}
	vm := object.NewVirtualMachine(a.s.Vim, *ref)
	if err := vm.MarkAsTemplate(ctx); err != nil {
		return fmt.Errorf("marking %q as a template: %w", staging, err)
	}
	if it.existing != "" {
		old := object.NewVirtualMachine(a.s.Vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: it.existing})
		if err := waitTask(ctx, old.Destroy); err != nil {
			return fmt.Errorf("removing the previous template %q: %w", t.Name, err)
		}
	}
	if err := waitTask(ctx, func(ctx context.Context) (*object.Task, error) { return vm.Rename(ctx, t.Name) }); err != nil {
		return fmt.Errorf("renaming %q to %q: %w", staging, t.Name, err)
	}
	return nil
}

func waitTask(ctx context.Context, f func(context.Context) (*object.Task, error)) error {
	task, err := f(ctx)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}

const stagingVMPrefix = ".bundle-"

func stagingVMName(name, digest string) string { return name + stagingVMPrefix + digest[:12] }

// destroyVM destroys the VMs matching inventory path pattern p, if any.
func (a *applier) destroyVM(ctx context.Context, p string) error {
	vms, err := a.s.finder.VirtualMachineList(ctx, p)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("finding VM %s: %w", p, err)
	}
	for _, vm := range vms {
		if err := waitTask(ctx, vm.Destroy); err != nil {
			return fmt.Errorf("removing VM %s: %w", vm.InventoryPath, err)
		}
	}
	return nil
}

// checkedArchive gives the OVF importer the files of one template, each
// hashed as it is read and checked against bundle.json (see checkedReader),
// reporting the bytes read from each disk.
type checkedArchive struct {
	dir   string
	ovf   string
	files map[string]File // absolute path → entry
	r     progress.Reporter

	mu     sync.Mutex
	opened []*checkedReader
}

func (a *checkedArchive) Open(name string) (io.ReadCloser, int64, error) {
	p := name
	if name != a.ovf && !filepath.IsAbs(name) {
		p = filepath.Join(filepath.Dir(a.ovf), name)
	}
	f, ok := a.files[filepath.Clean(p)]
	if !ok {
		return nil, 0, fmt.Errorf("opening %q: %w: not a file of the template in bundle.json", name, os.ErrNotExist)
	}
	c, err := openChecked(a.dir, f)
	if err != nil {
		return nil, 0, err
	}
	a.mu.Lock()
	a.opened = append(a.opened, c)
	a.mu.Unlock()
	if p == a.ovf {
		return c, f.Size, nil
	}
	t := a.r.Start(path.Base(f.Path), f.Size)
	return &progressReadCloser{Reader: progress.Reader(c, t), c: c, t: t}, f.Size, nil
}

// check reports the first file the importer read that did not match, or
// that it stopped reading before the end.
func (a *checkedArchive) check() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.opened {
		if err := c.done(); err != nil {
			return err
		}
	}
	return nil
}

type progressReadCloser struct {
	io.Reader
	c io.Closer
	t progress.Task
}

func (p *progressReadCloser) Close() error {
	p.t.Done(nil)
	return p.c.Close()
}
