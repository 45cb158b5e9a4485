package rpmcorpus

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/rpmpack"
	"golang.org/x/sync/errgroup"
)

// Options describe a corpus.
type Options struct {
	// Packages is the number of ordinary packages: 1 to MaxFiles files
	// each (median 18), 1 to 8 changelog entries, 3 to 18 requires.
	Packages int
	// Large is the number of Mesos-sized packages added (about 1,000
	// files, LargeMiB of incompressible payload each, zstd).
	Large    int
	LargeMiB int
	// Mixed makes the ordinary packages distro-like in size too (payloads
	// of a few KiB to a few MiB, median about 100 KiB) and adds ghost,
	// config, directory and symlink files, weak dependencies, conflicts and
	// obsoletes with every operator. Without it the packages are small
	// (a few KiB of payload each), as in the 4,000 and 20,000 corpora.
	Mixed bool
	// Seed selects the corpus; the same options give the same bytes
	// whatever Workers is.
	Seed byte
	// Workers is the number of packages written at once (0: GOMAXPROCS).
	Workers int
	// Compressor is rpmpack's payload compressor for the ordinary
	// packages; "" means xz, as CentOS 6 and 7 packages are.
	Compressor string
}

// MaxFiles bounds the file list of an ordinary package.
const MaxFiles = 120

// BuildTime is every package's build time (2015-03-11, the bundle epoch of
// the benchmarks).
const BuildTime = 1426032000

// Generate writes the corpus into dir and returns the RPMs' paths, sorted.
func Generate(dir string, o Options) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n := o.Packages + o.Large
	names := packageNames(o.Seed, n)
	paths := make([]string, n)
	g := new(errgroup.Group)
	w := o.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(w)
	for i := 0; i < n; i++ {
		g.Go(func() error {
			p, err := writePackage(dir, o, i, names)
			paths[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return paths, nil
}

// pkgRand is the package's own random stream: packages do not depend on
// the order they are written in.
func pkgRand(seed byte, i int) *rand.Rand {
	var s [32]byte
	s[0] = seed
	binary.LittleEndian.PutUint64(s[8:], uint64(i)+1)
	return rand.New(rand.NewChaCha8(s))
}

var (
	syllables = []string{"ab", "ac", "al", "an", "ar", "ba", "be", "bo", "ca", "co", "cu", "da", "de", "di", "do", "el", "en", "er",
		"fa", "fi", "fo", "ga", "ge", "gi", "ha", "he", "id", "in", "io", "ka", "ke", "la", "le", "li", "lo", "lu", "ma", "me", "mi",
		"mo", "na", "ne", "ni", "no", "ob", "on", "or", "pa", "pe", "pi", "po", "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so",
		"ta", "te", "ti", "to", "tu", "ul", "un", "ur", "va", "ve", "vi", "xa", "xe", "yo", "za", "ze", "zo"}
	prefixes = []string{"", "", "", "", "", "lib", "lib", "python-", "perl-", "perl-", "ruby-", "php-", "golang-", "rubygem-", "xorg-x11-", "texlive-", "kde-"}
	suffixes = []string{"", "", "", "", "", "", "-devel", "-devel", "-libs", "-libs", "-doc", "-common", "-tools", "-utils", "-static", "-server", "-client"}
	words    = strings.Fields(`the a of to and in is for on with by at from library tool daemon support files data utilities
		shared development headers documentation package provides programs module plugin server client command line interface
		format network file system configuration runtime bindings language standard kernel user manager service protocol
		version update fix rebuild security build cve patch upstream release bug resolves`)
	people = []string{"Jiří Novák <jnovak@redhat.com>", "Karsten Hopp <karsten@redhat.com>", "Petr Písař <ppisar@redhat.com>",
		"Dan Walsh <dwalsh@redhat.com>", "Jan Kaluža <jkaluza@redhat.com>", "Tom Callaway <spot@fedoraproject.org>",
		"Johnny Hughes <johnny@centos.org>", "Karanbir Singh <kbsingh@centos.org>", "Fedora Release Engineering <rel-eng@lists.fedoraproject.org>",
		"Ondřej Vašík <ovasik@redhat.com>", "Miroslav Lichvár <mlichvar@redhat.com>", "Zdeněk Pavlas <zpavlas@redhat.com>"}
	langs   = []string{"cs", "de", "es", "fr", "it", "ja", "ko", "pl", "pt_BR", "ru", "sv", "zh_CN", "zh_TW", "uk", "nl", "fi", "hu", "tr"}
	sonames = []string{"libc.so.6()(64bit)", "libc.so.6(GLIBC_2.2.5)(64bit)", "libc.so.6(GLIBC_2.3.4)(64bit)", "libc.so.6(GLIBC_2.4)(64bit)",
		"libc.so.6(GLIBC_2.7)(64bit)", "libpthread.so.0()(64bit)", "libpthread.so.0(GLIBC_2.2.5)(64bit)", "libdl.so.2()(64bit)",
		"libm.so.6()(64bit)", "librt.so.1()(64bit)", "libz.so.1()(64bit)", "libssl.so.10()(64bit)", "libcrypto.so.10()(64bit)",
		"libstdc++.so.6()(64bit)", "libstdc++.so.6(GLIBCXX_3.4)(64bit)", "libgcc_s.so.1()(64bit)", "libglib-2.0.so.0()(64bit)",
		"libselinux.so.1()(64bit)", "libxml2.so.2()(64bit)", "libcurl.so.4()(64bit)", "libsasl2.so.2()(64bit)", "libsvn_delta-1.so.0()(64bit)"}
	plainReqs = []string{"/bin/sh", "/sbin/ldconfig", "/sbin/chkconfig", "/sbin/service", "/usr/bin/perl", "/usr/bin/python", "bash",
		"coreutils", "glibc", "zlib", "python", "perl(strict)", "perl(warnings)", "perl(Carp)", "perl(Exporter)", "java >= 1:1.6.0",
		"python(abi) = 2.6", "config(%s) = %s", "chkconfig", "initscripts", "shadow-utils", "info", "grep", "sed"}
	ops = []string{"<", "<=", "=", ">=", ">"}
)

// packageNames draws n distinct distro-like names.
func packageNames(seed byte, n int) []string {
	rng := pkgRand(seed, -1)
	seen := map[string]bool{}
	out := make([]string, n)
	for i := range out {
		for {
			var b strings.Builder
			b.WriteString(prefixes[rng.IntN(len(prefixes))])
			for k := 2 + rng.IntN(3); k > 0; k-- {
				b.WriteString(syllables[rng.IntN(len(syllables))])
			}
			if rng.IntN(8) == 0 {
				fmt.Fprintf(&b, "%d", 1+rng.IntN(5))
			}
			b.WriteString(suffixes[rng.IntN(len(suffixes))])
			if s := b.String(); !seen[s] {
				seen[s] = true
				out[i] = s
				break
			}
		}
	}
	return out
}

// logNormal draws exp(N(ln median, sigma)) clamped to [lo, hi].
func logNormal(rng *rand.Rand, median, sigma float64, lo, hi int) int {
	v := int(math.Round(median * math.Exp(rng.NormFloat64()*sigma)))
	return max(lo, min(hi, v))
}

func sentence(rng *rand.Rand, nwords int) string {
	var b strings.Builder
	for i := 0; i < nwords; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

// text returns about n bytes of prose.
func text(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		if rng.IntN(12) == 0 {
			b = append(b, ".\n"...)
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// binary returns n bytes that do not compress.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, (n+7)/8*8)
	for j := 0; j < len(b); j += 8 {
		binary.LittleEndian.PutUint64(b[j:], rng.Uint64())
	}
	return b[:n]
}

func writePackage(dir string, o Options, i int, names []string) (string, error) {
	rng := pkgRand(o.Seed, i)
	large := i >= o.Packages
	name := names[i]
	if large {
		name = fmt.Sprintf("mesos%d", i-o.Packages)
		if i == o.Packages {
			name = "mesos"
		}
	}
	ver := fmt.Sprintf("%d.%d.%d", rng.IntN(4), rng.IntN(30), rng.IntN(12))
	rel := fmt.Sprintf("%d.el6", 1+rng.IntN(20))
	arch := "x86_64"
	if !large && rng.IntN(4) == 0 {
		arch = "noarch"
	}
	comp := o.Compressor
	if comp == "" {
		comp = "xz"
	}
	if large {
		comp = "zstd:1"
	}
	summary := sentence(rng, 3+rng.IntN(7))
	desc := string(text(rng, logNormal(rng, 320, 0.6, 60, 2000)))
	if rng.IntN(10) == 0 {
		desc += " Handles <xml> & \"quoted\" text — naïvely."
	}
	md := rpmpack.RPMMetaData{
		Name: name, Version: ver, Release: rel, Arch: arch, OS: "linux",
		Summary: summary, Description: desc, Licence: []string{"GPLv2+", "LGPLv2+", "MIT", "BSD", "ASL 2.0", "GPLv3+", "Artistic or GPL+"}[rng.IntN(7)],
		Vendor: "CentOS", Packager: "CentOS BuildSystem <http://bugs.centos.org>", Group: []string{"System Environment/Libraries", "Development/Libraries", "Applications/System", "Development/Languages", "System Environment/Daemons"}[rng.IntN(5)],
		URL: "http://www.example.org/" + name, BuildHost: "c6b8.bsys.dev.centos.org", Compressor: comp, Epoch: rpmpack.NoEpoch,
		BuildTime: time.Unix(BuildTime, 0),
	}
	if rng.IntN(8) == 0 {
		md.Epoch = uint32(1 + rng.IntN(3))
	}
	// Dependencies: provides of the package itself and its libraries,
	// requires on libraries, files and versioned packages.
	evr := ver + "-" + rel
	md.Provides.Set(name + " = " + evr)
	if arch == "x86_64" {
		md.Provides.Set(name + "(x86-64) = " + evr)
	}
	nlibs := 0
	if strings.HasPrefix(name, "lib") || strings.HasSuffix(name, "-libs") || large {
		nlibs = 1 + rng.IntN(4)
	}
	for k := 0; k < nlibs; k++ {
		md.Provides.Set(fmt.Sprintf("lib%s%d.so.%d()(64bit)", strings.TrimPrefix(name, "lib"), k, rng.IntN(3)))
	}
	if rng.IntN(6) == 0 {
		md.Provides.Set(fmt.Sprintf("%s-compat %s %s", name, ops[rng.IntN(len(ops))], ver))
	}
	nreq := 3 + rng.IntN(16)
	for k := 0; k < nreq; k++ {
		var r string
		switch c := rng.IntN(10); {
		case c < 4 && arch == "x86_64":
			r = sonames[rng.IntN(len(sonames))]
		case c < 7:
			r = plainReqs[rng.IntN(len(plainReqs))]
			if strings.HasPrefix(r, "config(") {
				r = fmt.Sprintf(r, name, evr)
			}
		default:
			dep := names[rng.IntN(len(names))]
			if rng.IntN(3) == 0 {
				r = dep
			} else {
				r = fmt.Sprintf("%s %s %d.%d", dep, ops[rng.IntN(len(ops))], rng.IntN(4), rng.IntN(20))
				if rng.IntN(3) == 0 {
					r += fmt.Sprintf("-%d.el6", 1+rng.IntN(9))
				}
			}
		}
		md.Requires.Set(r)
	}
	if o.Mixed || large {
		if rng.IntN(10) == 0 {
			md.Conflicts.Set(fmt.Sprintf("%s %s %d.%d", names[rng.IntN(len(names))], ops[rng.IntN(len(ops))], rng.IntN(4), rng.IntN(9)))
		}
		if rng.IntN(8) == 0 {
			md.Obsoletes.Set(fmt.Sprintf("%s-old %s %s", name, ops[rng.IntN(2)], ver))
		}
		if rng.IntN(12) == 0 {
			md.Recommends.Set(names[rng.IntN(len(names))])
		}
		if rng.IntN(12) == 0 {
			md.Suggests.Set(names[rng.IntN(len(names))] + " >= 1.0")
		}
	}
	r, err := rpmpack.NewRPM(md)
	if err != nil {
		return "", err
	}
	addChangelog(r, rng, ver, rel)
	addFiles(r, rng, o, name, ver, large)
	p := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.%s.rpm", name, ver, rel, arch))
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	if err := r.Write(f); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %q: %w", p, err)
	}
	return p, f.Close()
}

// addChangelog adds 1 to 8 entries, newest first, as rpm stores them.
func addChangelog(r *rpmpack.RPM, rng *rand.Rand, ver, rel string) {
	n := 1 + rng.IntN(8)
	times := make([]uint32, n)
	authors := make([]string, n)
	texts := make([]string, n)
	t := uint32(BuildTime - 86400*rng.IntN(60))
	t -= t % 86400 // rpm changelog dates are days
	for k := 0; k < n; k++ {
		times[k] = t
		authors[k] = people[rng.IntN(len(people))] + " - " + ver + "-" + rel
		var b strings.Builder
		for l := 1 + rng.IntN(4); l > 0; l-- {
			b.WriteString("- ")
			b.WriteString(sentence(rng, 4+rng.IntN(10)))
			if rng.IntN(5) == 0 {
				fmt.Fprintf(&b, " (#%d)", 400000+rng.IntN(800000))
			}
			if l > 1 {
				b.WriteByte('\n')
			}
		}
		texts[k] = b.String()
		if rng.IntN(6) != 0 {
			t -= uint32(86400 * (1 + rng.IntN(200)))
		}
	}
	r.AddCustomTag(1080, rpmpack.EntryUint32(times))
	r.AddCustomTag(1081, rpmpack.EntryStringSlice(authors))
	r.AddCustomTag(1082, rpmpack.EntryStringSlice(texts))
}

func addFiles(r *rpmpack.RPM, rng *rand.Rand, o Options, name, ver string, large bool) {
	nfiles := logNormal(rng, 18, 1.1, 1, MaxFiles)
	if large {
		nfiles = 800 + rng.IntN(700)
	}
	file := func(path string, body []byte, mode uint, typ rpmpack.FileType) {
		r.AddFile(rpmpack.RPMFile{Name: path, Body: body, Mode: mode, Owner: "root", Group: "root", MTime: BuildTime, Type: typ})
	}
	// The size of a binary: small packages carry a few KiB, the mixed
	// corpus's packages a median of about 100 KiB with a long tail.
	binSize := func() int {
		if o.Mixed {
			return logNormal(rng, 12<<10, 1.3, 512, 4<<20)
		}
		return logNormal(rng, 1<<10, 0.8, 128, 16<<10)
	}
	docDir := "/usr/share/doc/" + name + "-" + ver
	shareDir := "/usr/share/" + name
	dirs := map[string]bool{}
	for k := 0; k < nfiles; k++ {
		var path string
		var body []byte
		mode := uint(0o100644)
		typ := rpmpack.GenericFile
		switch c := rng.IntN(100); {
		case c < 10:
			path = fmt.Sprintf("/usr/bin/%s%s", name, []string{"", "-" + syllables[rng.IntN(len(syllables))]}[min(k, 1)])
			body, mode = randomBytes(rng, binSize()), 0o100755
		case c < 13:
			path = fmt.Sprintf("/usr/sbin/%s%s", name, []string{"d", "-" + syllables[rng.IntN(len(syllables))]}[min(k, 1)])
			body, mode = randomBytes(rng, binSize()), 0o100755
		case c < 25:
			path = fmt.Sprintf("/usr/lib64/%s/%s%d.so", name, syllables[rng.IntN(len(syllables))], k)
			body, mode = randomBytes(rng, binSize()), 0o100755
		case c < 38:
			dirs[docDir] = true
			path = fmt.Sprintf("%s/%s", docDir, []string{"README", "COPYING", "NEWS", "AUTHORS", "ChangeLog", "TODO", "examples/ex" + fmt.Sprint(k) + ".txt"}[rng.IntN(7)])
			body = text(rng, logNormal(rng, 1500, 1.0, 40, 64<<10))
		case c < 48:
			path = fmt.Sprintf("/usr/share/man/man%d/%s%d.%d.gz", 1+rng.IntN(8), name, k, 1+rng.IntN(8))
			body = randomBytes(rng, logNormal(rng, 900, 0.7, 100, 16<<10))
		case c < 58:
			path = fmt.Sprintf("/usr/share/locale/%s/LC_MESSAGES/%s.mo", langs[rng.IntN(len(langs))], name)
			body = randomBytes(rng, logNormal(rng, 2000, 0.8, 100, 64<<10))
		case c < 63:
			path = fmt.Sprintf("/etc/%s/%s.conf", name, syllables[rng.IntN(len(syllables))])
			body = text(rng, logNormal(rng, 800, 0.8, 20, 16<<10))
			if o.Mixed {
				typ = rpmpack.ConfigFile | rpmpack.NoReplaceFile
			}
		case c < 70 && (o.Mixed || large):
			path = fmt.Sprintf("/usr/include/%s/%s%d.h", name, syllables[rng.IntN(len(syllables))], k)
			body = text(rng, logNormal(rng, 3000, 0.9, 100, 64<<10))
		default:
			d := shareDir
			for depth := rng.IntN(3); depth > 0; depth-- {
				d += "/" + syllables[rng.IntN(len(syllables))] + syllables[rng.IntN(len(syllables))]
			}
			dirs[shareDir] = true
			path = fmt.Sprintf("%s/%s%d.%s", d, syllables[rng.IntN(len(syllables))], k, []string{"py", "pm", "rb", "xml", "png", "html", "txt", "js"}[rng.IntN(8)])
			body = text(rng, logNormal(rng, 1200, 1.0, 20, 64<<10))
		}
		file(path, body, mode, typ)
	}
	if large {
		// The one big shared library: LargeMiB of incompressible data.
		file("/usr/lib64/lib"+name+"-0.22.0.so", randomBytes(rng, o.LargeMiB<<20), 0o100755, rpmpack.GenericFile)
	}
	for d := range dirs {
		file(d, nil, 0o40755, rpmpack.GenericFile)
	}
	if o.Mixed || large {
		if rng.IntN(4) == 0 {
			file("/var/log/"+name+".log", nil, 0o100640, rpmpack.GhostFile)
			file("/var/run/"+name+".pid", nil, 0o100644, rpmpack.GhostFile)
		}
		if rng.IntN(4) == 0 {
			file(fmt.Sprintf("/usr/lib64/lib%s.so", name), []byte(fmt.Sprintf("lib%s.so.1", name)), 0o120777, rpmpack.GenericFile)
			file(fmt.Sprintf("/usr/lib64/lib%s.so.1", name), randomBytes(rng, binSize()), 0o100755, rpmpack.GenericFile)
		}
		if rng.IntN(10) == 0 {
			file("/etc/rc.d/init.d/"+name, text(rng, 2400), 0o100755, rpmpack.ConfigFile)
		}
	}
}
