package rpm

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	rpmutils "github.com/sassoftware/go-rpmutils"

	"github.com/bdebundle/bundle/internal/dualsha"
	"github.com/bdebundle/bundle/repo/rpmsig"
)

// Signature is one OpenPGP signature of a package's signature header.
type Signature struct {
	// Tag is the signature header tag holding it: RSAHEADER or DSAHEADER
	// (over the header), PGP or GPG (over header and payload).
	Tag string `json:"tag"`
	// Kind is what rpm prints: "V3 RSA/SHA256"; "unreadable: ..." for a
	// packet that does not parse.
	Kind string `json:"kind"`
	// KeyID is the issuer's key id, 16 hex digits.
	KeyID string `json:"key_id,omitempty"`
	// Created is the signature time, seconds since 1970.
	Created int64 `json:"created,omitempty"`
	// Verified: checked against a trusted key (only with a keyring).
	Verified bool `json:"verified"`
}

// sigTagOrder lists the signature tags in the order rpm checks them:
// header-only first.
var sigTagOrder = []struct {
	tag         int
	name        string
	withPayload bool
}{
	{rpmutils.SIG_DSA, "DSAHEADER", false},
	{rpmutils.SIG_RSA, "RSAHEADER", false},
	{rpmutils.SIG_PGP, "PGP", true},
	{rpmutils.SIG_GPG, "GPG", true},
}

// pkgSig is a signature being checked during the read.
type pkgSig struct {
	info Signature
	sig  *rpmsig.Signature
	h    hash.Hash // header-only: complete after setup; else fed the payload
	full bool
}

// readPackage reads the headers with go-rpmutils (which checks the header
// SHA-256 digest, or SHA-1 when there is no SHA-256), checks every other
// digest rpm checks (header SHA-1, MD5 over header and payload, the
// payload digest), reads the signatures and, with a keyring, requires each
// to verify with a trusted key, hashing the file for its sha256 in the same
// pass. A sha256 payload digest shares the file hash's SHA-256 pass
// (internal/dualsha).
func readPackage(f *os.File, br *bufio.Reader, src io.Reader, keyring *rpmsig.Keyring, checked []byte, checkedAt int64) (*rpmutils.RpmHeader, []Signature, string, [32]byte, error) {
	var sum [32]byte
	pair := dualsha.New()
	hdr, err := rpmutils.ReadHeader(io.TeeReader(br, writerA{pair}))
	if err != nil {
		return nil, nil, "", sum, errors.New(describeVerifyError(err))
	}
	rng := hdr.GetRange()
	// The main header as precheck read and checked it; read again only
	// when go-rpmutils located it elsewhere (it cannot, having read the
	// same bytes).
	var header []byte
	if checkedAt == int64(rng.Start) && int64(len(checked)) == int64(rng.End-rng.Start) {
		header = checked
	}
	headerBytes := func() ([]byte, error) {
		if header == nil {
			header = make([]byte, rng.End-rng.Start)
			if _, err := f.ReadAt(header, int64(rng.Start)); err != nil {
				return nil, fmt.Errorf("reading the header again: %w", err)
			}
		}
		return header, nil
	}

	// Header SHA-1 next to a SHA-256 (go-rpmutils checked only the latter).
	if sha1hex, _ := hdr.GetStrings(rpmutils.SIG_SHA1); len(sha1hex) > 0 && hdr.HasTag(rpmutils.SIG_SHA256) {
		b, err := headerBytes()
		if err != nil {
			return nil, nil, "", sum, err
		}
		if d := sha1.Sum(b); hex.EncodeToString(d[:]) != sha1hex[0] {
			return nil, nil, "", sum, errors.New("header digest mismatch: the header is corrupt (SHA1HEADER does not match)")
		}
	}

	// Signatures: always listed; checked when a keyring is given.
	var sigs []Signature
	var checks []*pkgSig
	for _, st := range sigTagOrder {
		blob, err := hdr.GetBytes(st.tag)
		if err != nil {
			if _, ok := err.(rpmutils.NoSuchTagError); ok {
				continue
			}
			blob = nil
		}
		info := Signature{Tag: st.name}
		sig, perr := rpmsig.Parse(blob)
		if perr != nil {
			info.Kind = "unreadable: " + perr.Error()
			if keyring != nil {
				return nil, nil, "", sum, fmt.Errorf("bad signature: %s: %v", st.name, perr)
			}
			sigs = append(sigs, info)
			continue
		}
		info.Kind, info.KeyID, info.Created = sig.Kind(), sig.KeyIDString(), sig.Created.Unix()
		sigs = append(sigs, info)
		if keyring == nil {
			continue
		}
		hf, herr := sig.Hash()
		if herr != nil {
			return nil, nil, "", sum, fmt.Errorf("bad signature: %s %s key %s: %v", st.name, info.Kind, info.KeyID, herr)
		}
		c := &pkgSig{info: info, sig: sig, h: hf.New(), full: st.withPayload}
		b, err := headerBytes()
		if err != nil {
			return nil, nil, "", sum, err
		}
		c.h.Write(b)
		checks = append(checks, c)
	}

	// Digests over the payload (and header+payload).
	want, algo := payloadDigest(hdr)
	var streams []hash.Hash
	var other hash.Hash // the payload digest when it is not sha256
	if algo != 0 && algo != crypto.SHA256 {
		if !algo.Available() {
			return nil, nil, "", sum, fmt.Errorf("unknown payload digest %s", algo)
		}
		other = algo.New()
		streams = append(streams, other)
	}
	// The MD5 over header and payload: always when it is the only digest
	// of the payload, and with a keyring (strict checking, as rpmkeys -K).
	// Without keys, when SHA-256 header and payload digests cover the
	// same bytes, it is skipped: it would double the cost of reading a
	// package rpmbuild made (docs/repo.md).
	var md5sum hash.Hash
	sigmd5, _ := hdr.GetBytes(rpmutils.SIG_MD5)
	if len(sigmd5) > 0 && (algo == 0 || keyring != nil || !hdr.HasTag(rpmutils.SIG_SHA256)) {
		md5sum = md5.New()
		b, err := headerBytes()
		if err != nil {
			return nil, nil, "", sum, err
		}
		md5sum.Write(b)
		streams = append(streams, md5sum)
	}
	// rpm requires a digest over the header (rpmvsVerify: every range,
	// header and payload, verified by some digest, else "DIGESTS NOT
	// OK"): SHA256HEADER or SHA1HEADER (go-rpmutils checked one of them
	// while reading) or the MD5 over header and payload. Without one, a
	// changed header byte would go unnoticed.
	if !hdr.HasTag(rpmutils.SIG_SHA256) && !hdr.HasTag(rpmutils.SIG_SHA1) && md5sum == nil {
		return nil, nil, "", sum, errors.New("no header digest: the signature header has no SHA256HEADER, SHA1HEADER or MD5, so the header cannot be checked (rpmkeys -K: DIGESTS NOT OK)")
	}
	covered := algo != 0 || md5sum != nil
	for _, c := range checks {
		if c.full {
			streams = append(streams, c.h)
			covered = true
		}
	}
	if !covered {
		return nil, nil, "", sum, errors.New("no usable payload digest found")
	}
	sha256Payload := algo == crypto.SHA256
	write := func(b []byte) {
		if sha256Payload {
			pair.WriteBoth(b)
		} else {
			pair.WriteA(b)
		}
		for _, h := range streams {
			h.Write(b)
		}
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		write(b)
	}
	bufp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bufp)
	if cap(*bufp) < payloadChunk {
		*bufp = make([]byte, payloadChunk)
	}
	buf := (*bufp)[:payloadChunk]
	for {
		n, err := src.Read(buf)
		write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, "", sum, err
		}
	}
	fileSum, payloadSum := pair.Sums()
	switch {
	case sha256Payload:
		if hex.EncodeToString(payloadSum[:]) != want {
			return nil, nil, "", sum, errors.New("payload digest mismatch: the payload is corrupt or truncated (PAYLOADDIGEST SHA-256 does not match)")
		}
	case other != nil:
		if hex.EncodeToString(other.Sum(nil)) != want {
			return nil, nil, "", sum, fmt.Errorf("payload digest mismatch: the payload is corrupt or truncated (PAYLOADDIGEST %s does not match)", algo)
		}
	}
	if md5sum != nil && !bytes.Equal(md5sum.Sum(nil), sigmd5) {
		return nil, nil, "", sum, errors.New("MD5 digest mismatch: the file is corrupt or truncated (MD5 over header and payload does not match)")
	}
	if keyring != nil && len(checks) == 0 {
		return nil, nil, "", sum, errors.New("not signed, and a signature from a trusted key is required")
	}
	signer := ""
	if keyring != nil {
		var errs []string
		for _, c := range checks {
			what := fmt.Sprintf("%s %s signature, key %s", c.info.Tag, c.info.Kind, c.info.KeyID)
			digest, err := c.sig.Digest(c.h)
			if err != nil {
				scope := "header"
				if c.full {
					scope = "header and payload"
				}
				errs = append(errs, fmt.Sprintf("bad %s: the signed %s changed (digest does not match)", what, scope))
				continue
			}
			key, err := keyring.VerifyWith(c.sig, digest)
			switch {
			case errors.Is(err, rpmsig.ErrNoKey):
				errs = append(errs, fmt.Sprintf("%s: key %s is not among the trusted keys", what, c.info.KeyID))
			case err != nil:
				errs = append(errs, fmt.Sprintf("bad %s: %v", what, err))
			default:
				for j := range sigs {
					if sigs[j].Tag == c.info.Tag {
						sigs[j].Verified = true
					}
				}
				if signer == "" {
					signer = fmt.Sprintf("%016x", key.Primary)
				}
			}
		}
		if len(errs) > 0 {
			return nil, nil, "", sum, errors.New(strings.Join(errs, "; "))
		}
	}
	return hdr, sigs, signer, fileSum, nil
}

// SignatureSummary describes the package's signatures, one line per kind
// and key in rpm's order: "V3 RSA/SHA256 key 24c6a8a7f4a80eb5 (RSAHEADER,
// PGP)", with ", verified" when a trusted key verified them. It is nil for
// an unsigned package.
func (p *Package) SignatureSummary() []string {
	type group struct {
		kind, key string
		tags      []string
		verified  bool
	}
	var groups []*group
	for _, s := range p.Signatures {
		var g *group
		for _, x := range groups {
			if x.kind == s.Kind && x.key == s.KeyID {
				g = x
			}
		}
		if g == nil {
			g = &group{kind: s.Kind, key: s.KeyID, verified: true}
			groups = append(groups, g)
		}
		g.tags = append(g.tags, s.Tag)
		g.verified = g.verified && s.Verified
	}
	var out []string
	for _, g := range groups {
		line := g.kind
		if g.key != "" {
			line += " key " + g.key
		}
		line += " (" + strings.Join(g.tags, ", ") + ")"
		if g.verified {
			line += ", verified"
		}
		out = append(out, line)
	}
	return out
}
