package builder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bdebundle/bundle/out/archive"
	"github.com/bdebundle/bundle/out/manifest"
	"github.com/bdebundle/bundle/provenance"
)

// ProvenancePath is where Build writes the provenance of a bundle: the
// plan's Provenance file name in the output directory.
func ProvenancePath(outDir, name string) string { return filepath.Join(outDir, name) }

// provenanceBuild is what the provenance records: the archive (when one is
// written) and bundle.json as subjects, every input file and image as a
// resolved dependency.
func (b *builder) provenanceBuild(dir, archiveName, archiveSHA string) provenance.Build {
	p := b.plan
	pb := provenance.Build{Name: p.Name, Version: p.Version, DefinitionSHA256: p.DefinitionDigest, Epoch: p.Epoch,
		Builder: builderString(b.opts.BuilderVersion)}
	if archiveName != "" {
		pb.Format = string(b.opts.Format)
		pb.Subjects = append(pb.Subjects, provenance.Artifact{Name: archiveName, SHA256: archiveSHA})
	}
	pb.Subjects = append(pb.Subjects, provenance.Artifact{Name: dir + "/" + manifest.FileName, SHA256: b.manifestSum})
	for _, in := range b.inputs {
		pb.Inputs = append(pb.Inputs, provenance.Artifact{Name: in.Path, SHA256: in.SHA256})
	}
	for _, im := range b.images {
		if hex, ok := strings.CutPrefix(im.Digest, "sha256:"); ok {
			pb.Inputs = append(pb.Inputs, provenance.Artifact{Name: "image:" + im.Name, URI: im.Ref, SHA256: hex})
		}
	}
	return pb
}

// provenanceTemp writes the provenance (a DSSE envelope signed with
// opts.SignKey when one is given) to a new temporary file in outDir and
// returns it open and not yet flushed: the caller flushes and closes it.
func (b *builder) provenanceTemp(outDir, dir string, res *Result) (*os.File, error) {
	archiveName := ""
	if res.ArchiveSHA256 != "" {
		archiveName = filepath.Base(archive.Path(outDir, dir, b.opts.Format))
	}
	stmt, err := provenance.Statement(b.provenanceBuild(dir, archiveName, res.ArchiveSHA256))
	if err != nil {
		return nil, err
	}
	data := stmt
	if len(b.opts.SignKey) > 0 {
		sig, keyID, err := manifest.SignDetached(provenance.PAE(provenance.PayloadType, stmt), b.opts.SignKey, b.opts.SignPassphrase, b.plan.Epoch, false)
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", b.plan.Provenance, err)
		}
		if data, err = provenance.Envelope(stmt, keyID, sig); err != nil {
			return nil, err
		}
	}
	f, err := os.CreateTemp(outDir, "."+b.plan.Provenance+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("writing provenance in %q: %w", outDir, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("writing %q: %w", f.Name(), err)
	}
	return f, nil
}
