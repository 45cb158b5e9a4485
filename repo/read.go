package repo

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bdebundle/bundle/internal/ctxio"
	"github.com/bdebundle/bundle/internal/regular"
	"github.com/bdebundle/bundle/repo/rpm"
	"golang.org/x/sync/errgroup"
)

type repomdDoc struct {
	Revision string       `xml:"revision"`
	Data     []repomdData `xml:"data"`
}

type repomdData struct {
	Type         string   `xml:"type,attr"`
	Checksum     checksum `xml:"checksum"`
	OpenChecksum checksum `xml:"open-checksum"`
	Location     struct {
		Href string `xml:"href,attr"`
	} `xml:"location"`
	Timestamp int64 `xml:"timestamp"`
	Size      int64 `xml:"size"`
	OpenSize  int64 `xml:"open-size"`
}

// checksum is a <checksum type="sha256">hex</checksum> element.
type checksum struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// metadataHashes are the checksum types of repomd.xml that ReadRepodata
// checks; createrepo_c writes sha256 unless told otherwise.
var metadataHashes = map[string]func() hash.Hash{"sha": sha1.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

// maxRepomd bounds repomd.xml (a few KiB in practice).
const maxRepomd = 16 << 20

func readRepomd(repoDir string) (*repomdDoc, error) {
	p := filepath.Join(repoDir, "repodata", "repomd.xml")
	b, err := regular.ReadFile(p, maxRepomd)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	var md repomdDoc
	if err := xml.Unmarshal(b, &md); err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	for _, d := range md.Data {
		if h := d.Location.Href; h != "" && !insideRepodata(h) {
			return nil, fmt.Errorf("reading %q: the %s metadata's location %q is not a file in the repodata directory", p, d.Type, h)
		}
	}
	return &md, nil
}

// insideRepodata reports whether href, from repomd.xml, names a file of
// the repodata directory ("repodata/<name>", as createrepo_c writes it):
// never a path that climbs out (../../../../etc/hostname), an absolute
// one or one that needs cleaning.
func insideRepodata(href string) bool {
	name, ok := strings.CutPrefix(href, "repodata/")
	return ok && name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// insideRepo reports whether a package location from the repodata is a
// clean relative path inside the repository.
func insideRepo(loc string) bool {
	if loc == "" || path.IsAbs(loc) || path.Clean(loc) != loc || strings.ContainsAny(loc, "\\\x00") {
		return false
	}
	return loc != ".." && !strings.HasPrefix(loc, "../")
}

func (md *repomdDoc) href(typ string) string {
	if d := md.data(typ); d != nil {
		return d.Location.Href
	}
	return ""
}

func (md *repomdDoc) data(typ string) *repomdData {
	for i := range md.Data {
		if md.Data[i].Type == typ {
			return &md.Data[i]
		}
	}
	return nil
}

// ReadRepodata parses the primary, filelists and other metadata of an
// existing repository, in the order primary lists the packages.
func ReadRepodata(ctx context.Context, repoDir string) ([]*rpm.Package, error) {
	var pkgs []*rpm.Package
	err := readRepodataEach(ctx, repoDir, func(p *rpm.Package) error {
		pkgs = append(pkgs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, nil
}

// readRepodataEach is ReadRepodata handing each package to emit as soon as
// its primary, filelists and other entries are parsed, so that only a few
// packages are held at a time.
func readRepodataEach(ctx context.Context, repoDir string, emit func(*rpm.Package) error) error {
	md, err := readRepomd(repoDir)
	if err != nil {
		return err
	}
	if md.href(primaryMeta.String()) == "" {
		return fmt.Errorf("reading %q: no primary metadata listed", filepath.Join(repoDir, "repodata", "repomd.xml"))
	}
	// The three files are independent streams: parse them at once and join
	// filelists and other to primary by position, checking each pkgid.
	var (
		chans [3]<-chan *rpm.Package
		errs  [3]error
	)
	g, gctx := errgroup.WithContext(ctx)
	for i, kind := range metaKinds {
		d := md.data(kind.String())
		if d == nil {
			continue
		}
		chans[i] = produce(gctx, g, &errs[i], func(emit func(*rpm.Package) error) error {
			return parseMetadata(gctx, repoDir, d, kind, emit)
		})
	}
	g.Go(func() error {
		// A file that fails to parse is reported as such, not as a
		// count mismatch: its error wins.
		failed := func() bool { return errs[0] != nil || errs[1] != nil || errs[2] != nil }
		for n := 0; ; n++ {
			p, ok := <-chans[0]
			for i := 1; i < 3; i++ {
				if chans[i] == nil {
					continue
				}
				e, eok := <-chans[i]
				if ok != eok {
					if !ok && errs[0] != nil || !eok && errs[i] != nil {
						return nil
					}
					// Count both to the end for the message.
					np, ne := n, n
					if ok {
						np++
					}
					if eok {
						ne++
					}
					for range chans[0] {
						np++
					}
					for range chans[i] {
						ne++
					}
					for j := 1; j < 3; j++ {
						if chans[j] != nil {
							for range chans[j] {
							}
						}
					}
					if failed() {
						return nil
					}
					where := filepath.Join(repoDir, filepath.FromSlash(md.href(metaKinds[i].String())))
					return fmt.Errorf("reading %q: lists %d packages, primary lists %d", where, ne, np)
				}
				if !ok {
					continue
				}
				if e.Checksum != p.Checksum {
					where := filepath.Join(repoDir, filepath.FromSlash(md.href(metaKinds[i].String())))
					return fmt.Errorf("reading %q: package %d has pkgid %s, primary says %s", where, n+1, e.Checksum, p.Checksum)
				}
				if i == 1 {
					// primary lists only some files; filelists has all
					p.Files = e.Files
				} else {
					p.Changelogs = e.Changelogs
				}
			}
			if !ok {
				return nil
			}
			if err := emit(p); err != nil {
				return err
			}
		}
	})
	return g.Wait()
}

func attrOf(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func attrInt(se xml.StartElement, name string) int64 {
	v, _ := strconv.ParseInt(attrOf(se, name), 10, 64)
	return v
}

// parseMetadata streams one metadata file (decompressing .gz) into packages
// in file order, and checks the file against the checksum repomd.xml
// records for it. For filelists and other each package carries only its
// pkgid (as Checksum) and its files or changelogs.
func parseMetadata(ctx context.Context, repoDir string, d *repomdData, kind metaKind, emit func(*rpm.Package) error) error {
	m, err := openMetadata(repoDir, d)
	if err != nil {
		return err
	}
	defer m.Close()
	where := m.where
	dec := xml.NewDecoder(m.R)
	primary := kind == primaryMeta
	var count int
	var cur *rpm.Package
	var text strings.Builder
	var inText bool
	var curFile rpm.File
	var curCL rpm.Changelog
	deps := map[string]*[]rpm.Dep{}
	var depList *[]rpm.Dep
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading %q: %w", where, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			text.Reset()
			inText = true
			name := t.Name.Local
			switch {
			case name == "package":
				if primary {
					cur = &rpm.Package{}
					deps = map[string]*[]rpm.Dep{
						"provides": &cur.Provides, "requires": &cur.Requires, "conflicts": &cur.Conflicts,
						"obsoletes": &cur.Obsoletes, "suggests": &cur.Suggests, "enhances": &cur.Enhances,
						"recommends": &cur.Recommends, "supplements": &cur.Supplements,
					}
				} else {
					cur = &rpm.Package{Checksum: attrOf(t, "pkgid")}
				}
				if count%512 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
			case cur == nil:
			case name == "version" && primary:
				cur.Epoch, cur.Version, cur.Release = attrOf(t, "epoch"), attrOf(t, "ver"), attrOf(t, "rel")
			case name == "time":
				cur.BuildTime = attrInt(t, "build")
			case name == "size" && primary:
				cur.Size, cur.InstalledSize, cur.ArchiveSize = attrInt(t, "package"), attrInt(t, "installed"), attrInt(t, "archive")
			case name == "location":
				cur.Location = attrOf(t, "href")
			case name == "header-range":
				cur.HeaderStart, cur.HeaderEnd = attrInt(t, "start"), attrInt(t, "end")
			case name == "entry" && depList != nil:
				*depList = append(*depList, rpm.Dep{
					Name: attrOf(t, "name"), Flags: attrOf(t, "flags"), Epoch: attrOf(t, "epoch"),
					Version: attrOf(t, "ver"), Release: attrOf(t, "rel"), Pre: attrOf(t, "pre") == "1",
				})
			case name == "file":
				curFile = rpm.File{Type: attrOf(t, "type")}
			case name == "changelog":
				curCL = rpm.Changelog{Author: attrOf(t, "author"), Date: attrInt(t, "date")}
			default:
				if l, ok := deps[name]; ok && t.Name.Space == "rpm" {
					depList = l
				}
			}
		case xml.CharData:
			if inText {
				text.Write(t)
			}
		case xml.EndElement:
			inText = false
			if cur == nil {
				continue
			}
			s := text.String()
			text.Reset()
			switch t.Name.Local {
			case "package":
				if err := emit(cur); err != nil {
					return err
				}
				count++
				cur = nil
			case "name":
				cur.Name = s
			case "arch":
				cur.Arch = s
			case "checksum":
				cur.Checksum = s
			case "summary":
				cur.Summary = s
			case "description":
				cur.Description = s
			case "packager":
				cur.Packager = s
			case "url":
				cur.URL = s
			case "license":
				cur.License = s
			case "vendor":
				cur.Vendor = s
			case "group":
				cur.Group = s
			case "buildhost":
				cur.BuildHost = s
			case "sourcerpm":
				cur.SourceRPM = s
			case "file":
				curFile.Path = s
				cur.Files = append(cur.Files, curFile)
			case "changelog":
				curCL.Text = s
				cur.Changelogs = append(cur.Changelogs, curCL)
			default:
				if _, ok := deps[t.Name.Local]; ok && t.Name.Space == "rpm" {
					depList = nil
				}
			}
		}
	}
	return m.check()
}

// VerifyRepodata checks a repository against its repodata: every file
// repomd.xml lists has the recorded size and checksums, every package
// listed exists with the listed size and sha256, and no RPM under the
// directory is left unlisted. The error lists every problem.
func VerifyRepodata(ctx context.Context, repoDir string) error {
	md, err := readRepomd(repoDir)
	if err != nil {
		return err
	}
	var probs []string
	for i := range md.Data {
		d := &md.Data[i]
		if msg := verifyMetadataFile(repoDir, d); msg != "" {
			probs = append(probs, fmt.Sprintf("%s: %s", d.Location.Href, msg))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("repository %q: %s", repoDir, strings.Join(probs, "; "))
	}
	pkgs, err := ReadRepodata(ctx, repoDir)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		listed[p.Location] = true
		if !insideRepo(p.Location) {
			probs = append(probs, fmt.Sprintf("%s: not a path inside the repository", p.Location))
			continue
		}
		fp := filepath.Join(repoDir, filepath.FromSlash(p.Location))
		sum, size, err := ctxio.SHA256File(ctx, fp, nil)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			probs = append(probs, fmt.Sprintf("%s: listed but missing", p.Location))
		case err != nil:
			probs = append(probs, fmt.Sprintf("%s: %v", p.Location, err))
		case size != p.Size:
			probs = append(probs, fmt.Sprintf("%s: size %d, repodata says %d", p.Location, size, p.Size))
		case sum != p.Checksum:
			probs = append(probs, fmt.Sprintf("%s: sha256 %s, repodata says %s", p.Location, sum, p.Checksum))
		}
	}
	found, err := findRPMs(repoDir)
	if err != nil {
		return err
	}
	for _, f := range found {
		rel, _ := filepath.Rel(repoDir, f)
		if !listed[filepath.ToSlash(rel)] {
			probs = append(probs, fmt.Sprintf("%s: not listed in the repodata", filepath.ToSlash(rel)))
		}
	}
	if len(probs) > 0 {
		sort.Strings(probs)
		return fmt.Errorf("repository %q does not match its repodata: %s", repoDir, strings.Join(probs, "; "))
	}
	return nil
}

// verifyMetadataFile says how the file d names differs from d, empty
// when it does not.
func verifyMetadataFile(repoDir string, d *repomdData) string {
	m, err := openMetadataFile(repoDir, d)
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			return u.Error() // the path is said already
		}
		return err.Error()
	}
	defer m.Close()
	return m.verify()
}

// findRPMs lists every *.rpm under dir, sorted, skipping hidden
// directories and repodata.
func findRPMs(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %q: %w", p, err)
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "repodata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".rpm") && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		return path.Clean(filepath.ToSlash(out[i])) < path.Clean(filepath.ToSlash(out[j]))
	})
	return out, nil
}

// produce runs parse on g and returns a channel of what it emits, closed
// when parse returns; *errp holds parse's error by then, so a reader that
// sees the channel closed can tell an ended stream from a failed one. An
// emit blocked on a full channel gives up when ctx is done.
func produce[T any](ctx context.Context, g *errgroup.Group, errp *error, parse func(emit func(T) error) error) <-chan T {
	ch := make(chan T, 64)
	g.Go(func() error {
		err := parse(func(v T) error {
			select {
			case ch <- v:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		*errp = err
		close(ch)
		return err
	})
	return ch
}
