package verify

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/internal/progress"
	"github.com/bdebundle/bundle/out/manifest"
)

// The deep checks of a directory: repodata, image layout and OVF, with
// the checkers the caller gives in Options.

func deepChecks(ctx context.Context, root string, m *manifest.Manifest, rep *Report, opts Options) {
	// Each deep check is a task of its own, so that verify shows it is
	// still working until the last one ends.
	start := func(name string) progress.Task { return progress.Or(opts.Progress).Start(name, -1) }
	if opts.Repodata != nil {
		rep.DeepRun = append(rep.DeepRun, "repodata")
		task := start(fmt.Sprintf("deep check: repodata of %d repos", len(m.Repos)))
		for _, r := range m.Repos {
			if err := opts.Repodata(ctx, filepath.Join(root, filepath.FromSlash(r.Dir))); err != nil {
				rep.add(r.Dir, "repodata: %v", err)
			}
		}
		task.Done(ctx.Err())
	}
	if opts.Layout != nil && len(m.Images) > 0 {
		rep.DeepRun = append(rep.DeepRun, "images")
		task := start(fmt.Sprintf("deep check: OCI layout of %d images", len(m.Images)))
		if err := opts.Layout(ctx, filepath.Join(root, manifest.ImagesDir)); err != nil {
			rep.add("images", "OCI layout: %v", err)
		}
		task.Done(ctx.Err())
	}
	if opts.OVF != nil && len(m.Templates) > 0 {
		rep.DeepRun = append(rep.DeepRun, "templates")
		task := start(fmt.Sprintf("deep check: OVF of %d templates", len(m.Templates)))
		for _, t := range m.Templates {
			if t.OVF == "" || manifest.CheckRelPath(t.OVF) != nil {
				continue // reported with the file list
			}
			dir, file := path.Split(t.OVF)
			if err := opts.OVF(ctx, filepath.Join(root, filepath.FromSlash(dir)), strings.TrimSuffix(file, ".ovf")); err != nil {
				rep.add(t.OVF, "template %q: %v", t.Name, err)
			}
		}
		task.Done(ctx.Err())
	}
}
