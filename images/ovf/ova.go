package ovf

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bdebundle/bundle/internal/ctxio"
)

// maxUSTARSize is the largest file a plain USTAR header can describe
// (11 octal digits).
const maxUSTARSize = 1<<33 - 1

// WriteOVA streams the template in ovfDir as an OVA to w: a tar archive with
// <name>.ovf first, then <name>.mf, then the referenced files in References
// order (DSP0243). Entries have uid/gid 0, mode 0644 and the given mtime
// (Unix seconds), so the bytes depend only on the files. Headers are USTAR;
// a file of 8 GiB or more gets a POSIX pax size record, which every tar
// reader that understands USTAR's successor (vSphere, GNU tar, Go) accepts.
// Memory does not grow with the disk size. The sizes recorded in the .ovf
// are checked against the files.
func WriteOVA(ctx context.Context, w io.Writer, ovfDir, name string, mtime int64) error {
	desc, refs, err := readReferences(ovfDir, name)
	if err != nil {
		return err
	}
	mfPath := filepath.Join(ovfDir, name+".mf")
	if _, err := os.Stat(mfPath); err != nil {
		return fmt.Errorf("writing OVA of %q: %w", name, err)
	}
	mt := time.Unix(mtime, 0)
	tw := tar.NewWriter(w)
	header := func(entry string, size int64) *tar.Header {
		h := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     entry,
			Size:     size,
			Mode:     0o644,
			ModTime:  mt,
			Format:   tar.FormatUSTAR,
		}
		if size > maxUSTARSize {
			h.Format = tar.FormatPAX
		}
		return h
	}
	if err := tw.WriteHeader(header(name+".ovf", int64(len(desc)))); err != nil {
		return fmt.Errorf("writing OVA of %q: %w", name, err)
	}
	if _, err := tw.Write(desc); err != nil {
		return fmt.Errorf("writing OVA of %q: %w", name, err)
	}
	files := []reference{{Href: name + ".mf"}}
	files = append(files, refs...)
	buf := make([]byte, copyBuf)
	for _, r := range files {
		path := filepath.Join(ovfDir, r.Href)
		if err := addFile(ctx, tw, path, r, header, buf); err != nil {
			return fmt.Errorf("writing OVA of %q: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing OVA of %q: %w", name, err)
	}
	return nil
}

func addFile(ctx context.Context, tw *tar.Writer, path string, r reference, header func(string, int64) *tar.Header, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file", path)
	}
	if r.Size != nil && *r.Size != fi.Size() {
		return fmt.Errorf("%q is %d bytes, the descriptor says %d: it changed after the descriptor was written", path, fi.Size(), *r.Size)
	}
	if err := tw.WriteHeader(header(r.Href, fi.Size())); err != nil {
		return err
	}
	n, err := io.CopyBuffer(writerOnly{tw}, ctxio.Reader(ctx, f), buf)
	if err != nil {
		return fmt.Errorf("copying %q: %w", path, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("%q changed while it was being archived", path)
	}
	return nil
}
