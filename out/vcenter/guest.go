package vcenter

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Paths on the BDE management server.
const (
	guestSerengetiDir = "/opt/serengeti"
	guestTmpDir       = "/tmp"
	// The bundle's serengeti/chef/{cookbooks,roles} land here.
	guestCookbooksDir = guestSerengetiDir + "/chef/cookbooks"
	guestRolesDir     = guestSerengetiDir + "/chef/roles"
)

var guestNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// chefContent returns the cookbooks (directories of serengeti/chef/cookbooks
// holding a metadata.rb) and role files (serengeti/chef/roles/*.json) the
// bundle carries, sorted.
func (b *Bundle) chefContent() (cookbooks, roles []string, err error) {
	for _, f := range b.serengetiFiles() {
		if rest, ok := strings.CutPrefix(f.Path, "serengeti/chef/cookbooks/"); ok {
			if name, file, ok := strings.Cut(rest, "/"); ok && file == "metadata.rb" {
				if !guestNameRE.MatchString(name) {
					return nil, nil, fmt.Errorf("cookbook directory %q: a cookbook name is letters, digits, '_', '.' and '-'", name)
				}
				cookbooks = append(cookbooks, name)
			}
		}
		if rest, ok := strings.CutPrefix(f.Path, "serengeti/chef/roles/"); ok && strings.HasSuffix(rest, ".json") && !strings.Contains(rest, "/") {
			if !guestNameRE.MatchString(rest) {
				return nil, nil, fmt.Errorf("role file %q: a role file name is letters, digits, '_', '.' and '-'", rest)
			}
			roles = append(roles, rest)
		}
	}
	sort.Strings(cookbooks)
	sort.Strings(roles)
	return cookbooks, roles, nil
}

// GuestCommands are the programs run in the management server after the
// tree is copied: unpack it over /opt/serengeti, upload exactly the
// cookbooks the bundle carries (-o: whatever the server's cookbook_path) and
// its roles, restart Tomcat (BDE reads the manifest and caches the Chef role
// list per process), remove the archive.
func GuestCommands(b *Bundle, archive string) ([]types.GuestProgramSpec, error) {
	cookbooks, roles, err := b.chefContent()
	if err != nil {
		return nil, err
	}
	cmds := []types.GuestProgramSpec{
		{ProgramPath: "/bin/tar", Arguments: fmt.Sprintf("-xzf %s -C %s --strip-components=1", archive, guestSerengetiDir)},
	}
	if len(cookbooks) > 0 {
		cmds = append(cmds, types.GuestProgramSpec{ProgramPath: "/usr/bin/knife",
			Arguments: "cookbook upload " + strings.Join(cookbooks, " ") + " -o " + guestCookbooksDir, WorkingDirectory: guestSerengetiDir})
	}
	if len(roles) > 0 {
		paths := make([]string, len(roles))
		for i, r := range roles {
			paths[i] = guestRolesDir + "/" + r
		}
		cmds = append(cmds, types.GuestProgramSpec{ProgramPath: "/usr/bin/knife",
			Arguments: "role from file " + strings.Join(paths, " "), WorkingDirectory: guestSerengetiDir})
	}
	return append(cmds,
		types.GuestProgramSpec{ProgramPath: "/sbin/service", Arguments: "tomcat restart"},
		types.GuestProgramSpec{ProgramPath: "/bin/rm", Arguments: "-f " + archive},
	), nil
}

// guestArchive is where the tree's archive is copied in the management server.
func (b *Bundle) guestArchive() string {
	return fmt.Sprintf("%s/bundle-%s-%s.tar.gz", guestTmpDir, b.Name, b.Version)
}

// guestSteps are GuestCommands as command lines, for the plan.
func guestSteps(b *Bundle) ([]string, error) {
	cmds, err := GuestCommands(b, b.guestArchive())
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.ProgramPath + " " + c.Arguments
	}
	return out, nil
}

// guest copies the serengeti/ tree into the management server with vSphere
// guest operations and runs GuestCommands there.
func (a *applier) guest(ctx context.Context) error {
	for _, it := range a.itemsOf(KindGuest, Update) {
		if err := a.copyToGuest(ctx, it); err != nil {
			return vcErr("copying the serengeti/ tree into management server "+a.p.cfg.ManagementServer, err)
		}
		a.mu.Lock()
		a.st.Guest[a.p.cfg.ManagementServer] = it.SHA256
		a.mu.Unlock()
		if err := a.saveState(ctx); err != nil {
			return err
		}
		a.done(it)
	}
	return nil
}

func (a *applier) copyToGuest(ctx context.Context, it Item) error {
	cfg := a.p.cfg
	if cfg.GuestUsername == "" || cfg.GuestPassword == "" {
		return configErr("set BUNDLE_GUEST_USERNAME and BUNDLE_GUEST_PASSWORD to log in to the management server")
	}
	auth := &types.NamePasswordAuthentication{Username: cfg.GuestUsername, Password: cfg.GuestPassword}
	vm := object.NewVirtualMachine(a.s.Vim, types.ManagedObjectReference{Type: "VirtualMachine", Value: it.existing})
	ops := guest.NewOperationsManager(a.s.Vim, vm.Reference())
	fm, err := ops.FileManager(ctx)
	if err != nil {
		return err
	}
	pm, err := ops.ProcessManager(ctx)
	if err != nil {
		return err
	}
	// Pack the tree into a temporary archive: one transfer, not one per file.
	tmp, err := os.CreateTemp("", "bundle-guest-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	// The archive is hashed as it is written and again as it is sent:
	// what leaves is what was packed from the verified files.
	sum := sha256.New()
	if err := a.packTree(io.MultiWriter(tmp, sum)); err != nil {
		return err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dst := a.p.b.guestArchive()
	cmds, err := GuestCommands(a.p.b, dst)
	if err != nil {
		return err
	}
	u, err := fm.InitiateFileTransferToGuest(ctx, auth, dst, &types.GuestPosixFileAttributes{}, size, true)
	if err != nil {
		return guestErr(err)
	}
	tu, err := fm.TransferURL(ctx, u)
	if err != nil {
		return err
	}
	p := soap.DefaultUpload
	p.ContentLength = size
	task := a.o.Progress.Start("management server "+dst, size)
	body := &checkedReader{r: tmp, c: io.NopCloser(nil), h: sha256.New(),
		f: File{Path: "the archive of the serengeti/ tree", Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))}}
	err = a.s.Vim.Upload(ctx, progress.Reader(body, task), tu, &p)
	if err == nil {
		err = body.done()
	} else if body.err != nil {
		err = body.err
	}
	task.Done(err)
	if err != nil {
		return err
	}
	for _, spec := range cmds {
		pid, err := pm.StartProgram(ctx, auth, &spec)
		if err != nil {
			return fmt.Errorf("starting %s %s: %w", spec.ProgramPath, spec.Arguments, guestErr(err))
		}
		if err := waitGuest(ctx, pm, auth, pid, spec); err != nil {
			return err
		}
	}
	return nil
}

func guestErr(err error) error {
	if strings.Contains(err.Error(), "GuestOperationsUnavailable") || strings.Contains(err.Error(), "guest operations") {
		return fmt.Errorf("%w (VMware Tools must be running in the management server)", err)
	}
	return err
}

func waitGuest(ctx context.Context, pm *guest.ProcessManager, auth types.BaseGuestAuthentication, pid int64, spec types.GuestProgramSpec) error {
	for {
		procs, err := pm.ListProcesses(ctx, auth, []int64{pid})
		if err != nil {
			return err
		}
		if len(procs) == 1 && procs[0].EndTime != nil {
			if procs[0].ExitCode != 0 {
				return fmt.Errorf("%s %s exited with code %d", spec.ProgramPath, spec.Arguments, procs[0].ExitCode)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// packTree writes the serengeti/ tree as a reproducible tar.gz.
func (a *applier) packTree(w io.Writer) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range a.p.b.serengetiFiles() {
		mode := int64(0o644)
		if f.Mode == "0755" {
			mode = 0o755
		}
		hdr := &tar.Header{Name: f.Path, Mode: mode, Size: f.Size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		fh, err := openChecked(a.p.b.Dir, f)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, fh)
		fh.Close()
		if err == nil {
			err = fh.done()
		}
		if err != nil {
			return err
		}
	}
	return errors.Join(tw.Close(), gz.Close())
}
