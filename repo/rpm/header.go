package rpm

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	rpmutils "github.com/sassoftware/go-rpmutils"
)

// ChangelogLimit is how many of the newest changelog entries are kept per
// package, as createrepo_c does by default.
const ChangelogLimit = 10

// RPM header tags and dependency sense flags go-rpmutils does not name.
const (
	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagEpoch         = 1003
	tagSummary       = 1004
	tagDescription   = 1005
	tagBuildTime     = 1006
	tagBuildHost     = 1007
	tagSize          = 1009
	tagVendor        = 1011
	tagLicense       = 1014
	tagPackager      = 1015
	tagGroup         = 1016
	tagURL           = 1020
	tagArch          = 1022
	tagOldFilenames  = 1027
	tagFileModes     = 1030
	tagFileFlags     = 1037
	tagSourceRPM     = 1044
	tagArchiveSize   = 1046
	tagProvideName   = 1047
	tagRequireFlags  = 1048
	tagRequireName   = 1049
	tagRequireVer    = 1050
	tagConflictFlags = 1053
	tagConflictName  = 1054
	tagConflictVer   = 1055
	tagChangelogTime = 1080
	tagChangelogName = 1081
	tagChangelogText = 1082
	tagObsoleteName  = 1090
	tagSourcePackage = 1106
	tagProvideFlags  = 1112
	tagProvideVer    = 1113
	tagObsoleteFlags = 1114
	tagObsoleteVer   = 1115
	tagDirIndexes    = 1116
	tagBaseNames     = 1117
	tagDirNames      = 1118
	tagOldSuggests   = 1156 // name, version 1157, flags 1158
	tagOldEnhances   = 1159 // name, version 1160, flags 1161
	tagLongSize      = 5009
	tagRecommendName = 5046 // version 5047, flags 5048
	tagSuggestName   = 5049
	tagSupplementNm  = 5052
	tagEnhanceName   = 5055

	sigPayloadSize     = 1007 // in the signature header
	sigLongArchiveSize = 271  // in the signature header
	sigTagBase         = 16384
	rpmsenseLess       = 1 << 1
	rpmsenseGreater    = 1 << 2
	rpmsenseEqual      = 1 << 3
	rpmsensePrereq     = 1 << 6
	rpmsenseScriptPre  = 1 << 9
	rpmsenseScriptPost = 1 << 10
	rpmsenseMissingOK  = 1 << 19
	rpmsenseStrong     = 1 << 27
	rpmfileGhost       = 1 << 6
	modeTypeMask       = 0o170000
	modeDir            = 0o040000
	depProvides        = 0
	depConflicts       = 1
	depObsoletes       = 2
	depRequires        = 3
	depSuggests        = 4
	depEnhances        = 5
	depRecommends      = 6
	depSupplements     = 7
	depOldSuggests     = 8
	depOldEnhances     = 9
)

// depTags lists name, flags and version tags per dependency kind, in the
// order createrepo_c processes them.
var depTags = [...][3]int{
	depProvides:    {tagProvideName, tagProvideFlags, tagProvideVer},
	depConflicts:   {tagConflictName, tagConflictFlags, tagConflictVer},
	depObsoletes:   {tagObsoleteName, tagObsoleteFlags, tagObsoleteVer},
	depRequires:    {tagRequireName, tagRequireFlags, tagRequireVer},
	depSuggests:    {tagSuggestName, tagSuggestName + 2, tagSuggestName + 1},
	depEnhances:    {tagEnhanceName, tagEnhanceName + 2, tagEnhanceName + 1},
	depRecommends:  {tagRecommendName, tagRecommendName + 2, tagRecommendName + 1},
	depSupplements: {tagSupplementNm, tagSupplementNm + 2, tagSupplementNm + 1},
	depOldSuggests: {tagOldSuggests, tagOldSuggests + 2, tagOldSuggests + 1},
	depOldEnhances: {tagOldEnhances, tagOldEnhances + 2, tagOldEnhances + 1},
}

// hdrString returns the first value of a string tag, "" when absent.
func hdrString(h *rpmutils.RpmHeader, tag int) string {
	v, err := h.GetStrings(tag)
	if err != nil || len(v) == 0 {
		return ""
	}
	return cleanText(v[0])
}

func hdrStrings(h *rpmutils.RpmHeader, tag int) []string {
	v, err := h.GetStrings(tag)
	if err != nil {
		return nil
	}
	return v
}

func hdrUint64s(h *rpmutils.RpmHeader, tag int) []uint64 {
	v, err := h.GetUint64s(tag)
	if err != nil {
		return nil
	}
	return v
}

func hdrInt(h *rpmutils.RpmHeader, tag int) (int64, bool) {
	v := hdrUint64s(h, tag)
	if len(v) == 0 {
		return 0, false
	}
	return int64(v[0]), true
}

// flagString maps rpm sense flags to the repodata comparison name.
func flagString(f uint64) string {
	switch f & 0xf {
	case rpmsenseLess:
		return "LT"
	case rpmsenseGreater:
		return "GT"
	case rpmsenseEqual:
		return "EQ"
	case rpmsenseLess | rpmsenseEqual:
		return "LE"
	case rpmsenseGreater | rpmsenseEqual:
		return "GE"
	}
	return ""
}

// splitEVR splits "[epoch:]version[-release]" like createrepo_c's
// cr_str_to_evr: the epoch defaults to "0" when a version is given; ok is
// false when the epoch is not numeric.
func splitEVR(s string) (epoch, version, release string, ok bool) {
	if s == "" {
		return "", "", "", true
	}
	rest := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if _, err := strconv.ParseUint(s[:i], 10, 64); err != nil {
			return "", "", "", false
		}
		epoch, rest = s[:i], s[i+1:]
	}
	if epoch == "" {
		epoch = "0"
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		return epoch, rest[:i], rest[i+1:], true
	}
	return epoch, rest, "", true
}

// fromHeader fills p from an RPM header with createrepo_c's rules.
func fromHeader(h *rpmutils.RpmHeader, p *Package) error {
	p.Name = hdrString(h, tagName)
	if p.Name == "" {
		return errors.New("header has no package name")
	}
	if src, _ := hdrInt(h, tagSourcePackage); src != 0 || !h.HasTag(tagSourceRPM) {
		// rpm marks headers without a SOURCERPM tag as source packages
		p.Arch = "src"
	} else {
		p.Arch = hdrString(h, tagArch)
	}
	if e, ok := hdrInt(h, tagEpoch); ok {
		p.Epoch = strconv.FormatInt(e, 10)
	} else {
		p.Epoch = "0"
	}
	p.Version = hdrString(h, tagVersion)
	p.Release = hdrString(h, tagRelease)
	p.Summary = hdrString(h, tagSummary)
	p.Description = hdrString(h, tagDescription)
	p.URL = hdrString(h, tagURL)
	p.BuildTime, _ = hdrInt(h, tagBuildTime)
	p.License = hdrString(h, tagLicense)
	p.Vendor = hdrString(h, tagVendor)
	p.Group = hdrString(h, tagGroup)
	p.BuildHost = hdrString(h, tagBuildHost)
	p.SourceRPM = hdrString(h, tagSourceRPM)
	p.Packager = hdrString(h, tagPackager)
	if v, ok := hdrInt(h, tagLongSize); ok {
		p.InstalledSize = v
	} else {
		p.InstalledSize, _ = hdrInt(h, tagSize)
	}
	if v, ok := hdrInt(h, sigLongArchiveSize); ok {
		p.ArchiveSize = v
	} else if v, ok := hdrInt(h, sigTagBase+sigPayloadSize); ok {
		p.ArchiveSize = v
	} else {
		p.ArchiveSize, _ = hdrInt(h, tagArchiveSize)
	}
	rng := h.GetRange()
	p.HeaderStart, p.HeaderEnd = int64(rng.Start), int64(rng.End)

	paths, err := readFiles(h, p)
	if err != nil {
		return err
	}
	readDeps(h, p, newFileSet(paths))
	readChangelogs(h, p)
	return nil
}

// fileSet answers whether a package has a file: by looking through a short
// list, or a map built on the first question for a long one.
type fileSet struct {
	paths []string
	set   map[string]struct{}
}

func newFileSet(paths []string) *fileSet { return &fileSet{paths: paths} }

func (f *fileSet) has(path string) bool {
	if len(f.paths) <= 64 {
		for _, p := range f.paths {
			if p == path {
				return true
			}
		}
		return false
	}
	if f.set == nil {
		f.set = make(map[string]struct{}, len(f.paths))
		for _, p := range f.paths {
			f.set[p] = struct{}{}
		}
	}
	_, ok := f.set[path]
	return ok
}

// readFiles fills p.Files and returns the paths as the header has them.
func readFiles(h *rpmutils.RpmHeader, p *Package) ([]string, error) {
	var paths []string
	if base := hdrStrings(h, tagBaseNames); base != nil {
		dirs := hdrStrings(h, tagDirNames)
		idx := hdrUint64s(h, tagDirIndexes)
		if len(idx) != len(base) {
			return nil, errors.New("header file list is inconsistent (dir indexes)")
		}
		// All paths are built into one string and sliced from it: one
		// allocation for the file list, not one per file.
		total := 0
		for i, b := range base {
			if idx[i] >= uint64(len(dirs)) {
				return nil, errors.New("header file list is inconsistent (dir index out of range)")
			}
			total += len(dirs[idx[i]]) + len(b)
		}
		var sb strings.Builder
		sb.Grow(total)
		for i, b := range base {
			sb.WriteString(dirs[idx[i]])
			sb.WriteString(b)
		}
		all := sb.String()
		paths = make([]string, len(base))
		off := 0
		for i, b := range base {
			n := len(dirs[idx[i]]) + len(b)
			paths[i] = all[off : off+n]
			off += n
		}
	} else {
		paths = hdrStrings(h, tagOldFilenames)
	}
	if len(paths) == 0 {
		return nil, nil
	}
	modes := hdrUint64s(h, tagFileModes)
	flags := hdrUint64s(h, tagFileFlags)
	if len(modes) < len(paths) || len(flags) < len(paths) {
		return nil, errors.New("header file list is inconsistent (modes or flags missing)")
	}
	p.Files = make([]File, len(paths))
	for i, path := range paths {
		t := ""
		switch {
		case modes[i]&modeTypeMask == modeDir:
			t = "dir"
		case flags[i]&rpmfileGhost != 0:
			t = "ghost"
		}
		p.Files[i] = File{Path: cleanText(path), Type: t}
	}
	return paths, nil
}

func readDeps(h *rpmutils.RpmHeader, p *Package, files *fileSet) {
	// provided holds name+flags+version of each provide, as createrepo_c
	// compares them (concatenated); nfv is built in one buffer, and a
	// lookup with string(nfv) does not allocate.
	provided := map[string]struct{}{}
	var nfv []byte
	type last struct {
		flags, version string
		pre            bool
	}
	seenReq := map[string]last{}
	for kind, tags := range depTags {
		names := hdrStrings(h, tags[0])
		flags := hdrUint64s(h, tags[1])
		vers := hdrStrings(h, tags[2])
		if names == nil || flags == nil || vers == nil {
			continue
		}
		n := min(len(names), len(flags), len(vers))
		// Room for the kind's entries at once (requires may also go to
		// recommends, old suggests and enhances to either list).
		switch kind {
		case depProvides:
			p.Provides = slices.Grow(p.Provides, n)
		case depRequires:
			p.Requires = slices.Grow(p.Requires, n)
		case depConflicts:
			p.Conflicts = slices.Grow(p.Conflicts, n)
		case depObsoletes:
			p.Obsoletes = slices.Grow(p.Obsoletes, n)
		}
		var libc *Dep
		for i := 0; i < n; i++ {
			name, nflags, full := names[i], flags[i], vers[i]
			fl := flagString(nflags)
			nfv = append(append(append(nfv[:0], name...), fl...), full...)
			pre := false
			if kind == depRequires {
				if strings.HasPrefix(name, "rpmlib(") {
					continue
				}
				if strings.HasPrefix(name, "/") {
					if PrimaryFile(name) && files.has(name) {
						continue
					}
				}
				if _, ok := provided[string(nfv)]; ok {
					continue
				}
				pre = nflags&(rpmsensePrereq|rpmsenseScriptPre|rpmsenseScriptPost) != 0
				if l, ok := seenReq[name]; ok && l.flags == fl && l.version == full && l.pre == pre {
					continue
				}
			}
			e, v, r, ok := splitEVR(full)
			if !ok {
				continue
			}
			d := Dep{Name: cleanText(name), Flags: fl, Epoch: cleanText(e), Version: cleanText(v), Release: cleanText(r)}
			switch kind {
			case depProvides:
				provided[string(nfv)] = struct{}{}
				p.Provides = append(p.Provides, d)
			case depConflicts:
				p.Conflicts = append(p.Conflicts, d)
			case depObsoletes:
				p.Obsoletes = append(p.Obsoletes, d)
			case depRequires:
				if nflags&rpmsenseMissingOK != 0 {
					p.Recommends = append(p.Recommends, d)
					continue
				}
				d.Pre = pre
				if strings.HasPrefix(name, "libc.so.6") {
					if libc == nil {
						dd := d
						libc = &dd
					} else if compareLibcDep(libc.Name, d.Name) == 2 {
						dd := d
						libc = &dd
					}
					continue
				}
				p.Requires = append(p.Requires, d)
				seenReq[name] = last{fl, full, pre}
			case depSuggests:
				p.Suggests = append(p.Suggests, d)
			case depEnhances:
				p.Enhances = append(p.Enhances, d)
			case depRecommends:
				p.Recommends = append(p.Recommends, d)
			case depSupplements:
				p.Supplements = append(p.Supplements, d)
			case depOldSuggests:
				if nflags&rpmsenseStrong != 0 {
					p.Recommends = append(p.Recommends, d)
				} else {
					p.Suggests = append(p.Suggests, d)
				}
			case depOldEnhances:
				if nflags&rpmsenseStrong != 0 {
					p.Supplements = append(p.Supplements, d)
				} else {
					p.Enhances = append(p.Enhances, d)
				}
			}
		}
		if libc != nil {
			p.Requires = append(p.Requires, *libc)
		}
	}
	// A kind with no entries left is nil, as without the room made above.
	for _, l := range []*[]Dep{&p.Provides, &p.Requires, &p.Conflicts, &p.Obsoletes} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}

// compareLibcDep orders libc.so.6 requirements by the version inside the
// first parentheses like createrepo_c: 0 same, 1 first bigger, 2 second
// bigger.
func compareLibcDep(a, b string) int {
	if a == b {
		return 0
	}
	i, j := strings.IndexByte(a, '('), strings.IndexByte(b, '(')
	switch {
	case i < 0 && j < 0:
		return 0
	case i < 0:
		return 2
	case j < 0:
		return 1
	}
	ie, je := strings.IndexByte(a[i:], ')'), strings.IndexByte(b[j:], ')')
	switch {
	case ie < 0 && je < 0:
		return -1
	case ie < 0:
		return 2
	case je < 0:
		return 1
	}
	va, vb := a[i+1:i+ie], b[j+1:j+je]
	switch {
	case va == "" && vb == "":
		return 0
	case va == "":
		return 2
	case vb == "":
		return 1
	}
	va = strings.TrimLeft(va, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.-+")
	vb = strings.TrimLeft(vb, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.-+")
	switch {
	case va == "" && vb == "":
		return 0
	case va == "":
		return 2
	case vb == "":
		return 1
	}
	if c := VerCmp(va, vb); c < 0 {
		return 2
	} else {
		return c
	}
}

func readChangelogs(h *rpmutils.RpmHeader, p *Package) {
	times := hdrUint64s(h, tagChangelogTime)
	names := hdrStrings(h, tagChangelogName)
	texts := hdrStrings(h, tagChangelogText)
	n := min(len(times), len(names), len(texts), ChangelogLimit)
	if n == 0 {
		return
	}
	// The header lists the newest entry first; createrepo_c keeps the
	// first ChangelogLimit and writes them oldest first. Entries sharing a
	// timestamp get the older ones bumped by one second each, as it does.
	out := make([]Changelog, n)
	var lastTime int64
	for i := 0; i < n; i++ {
		t := int64(times[i])
		author := strings.TrimRight(names[i], " ")
		if author == "" && names[i] != "" {
			author = names[i][:1]
		}
		pos := n - 1 - i
		out[pos] = Changelog{Author: cleanText(author), Date: t, Text: cleanText(texts[i])}
		if i > 0 && lastTime == t {
			tmp := t
			for k := pos + 1; k < n && out[k].Date == tmp; k++ {
				out[k].Date++
				tmp++
			}
		} else {
			lastTime = t
		}
	}
	p.Changelogs = out
}
