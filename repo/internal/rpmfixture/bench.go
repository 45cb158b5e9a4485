package rpmfixture

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/rpmpack"
)

// BenchCorpus generates n small RPMs (files each) plus large RPMs of
// largeMB MiB of incompressible payload into dir.
func BenchCorpus(b testing.TB, dir string, small, files, large, largeMB int) []string {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	var out []string
	mk := func(name string, nfiles int, payload []byte) {
		md := rpmpack.RPMMetaData{
			Name: name, Version: "1.0." + fmt.Sprint(len(out)%7), Release: "1.el7", Arch: "x86_64", OS: "linux",
			Summary: "benchmark package " + name, Description: strings.Repeat("A package for the benchmark. ", 4),
			Licence: "ASL 2.0", URL: "https://example.com/" + name, Compressor: "zstd:1", Epoch: rpmpack.NoEpoch,
			BuildTime: time.Unix(1426032000, 0),
		}
		for _, r := range []string{"bash >= 4.0", "/bin/sh", "libfoo.so.1()(64bit)", fmt.Sprintf("dep-%d", len(out)%50)} {
			md.Requires.Set(r)
		}
		md.Provides.Set(name + "-api = 1.0")
		r, err := rpmpack.NewRPM(md)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < nfiles; i++ {
			r.AddFile(rpmpack.RPMFile{Name: fmt.Sprintf("/usr/share/%s/d%d/file-%03d.txt", name, i%4, i), Body: []byte(fmt.Sprintf("file %d of %s\n", i, name)), Mode: 0o100644, Owner: "root", Group: "root", MTime: 1426032000})
		}
		r.AddFile(rpmpack.RPMFile{Name: "/usr/bin/" + name, Body: payload, Mode: 0o100755, Owner: "root", Group: "root", MTime: 1426032000})
		p := filepath.Join(dir, name+"-1.0-1.el7.x86_64.rpm")
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Write(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	for i := 0; i < small; i++ {
		mk(fmt.Sprintf("bench-small-%05d", i), files, []byte("#!/bin/sh\n"))
	}
	for i := 0; i < large; i++ {
		payload := make([]byte, largeMB<<20)
		for j := 0; j+8 <= len(payload); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				payload[j+k] = byte(v >> (8 * k))
			}
		}
		mk(fmt.Sprintf("bench-large-%02d", i), files, payload)
	}
	return out
}
