package rpmfixture

import (
	"bytes"
	"crypto"

	//lint:ignore SA1019 the test signs packages with DSA keys, as CentOS 2-5 did
	"crypto/dsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Real distro RPMs from other projects' test data, fetched through the Go
// module proxy into the module cache (never copied into this repository).
var outsideModules = []string{
	// CentOS 2.1AS, 3, 4, 5, 6, 7 and EPEL 7 release packages (i386,
	// i686, x86_64, noarch; V3 DSA/SHA1 and V3 RSA/SHA256 signatures)
	// with the RPM-GPG-KEY-CentOS-* files that sign them.
	"github.com/cavaliercoder/go-rpm@v0.0.0-20200122174316-8cb9fd9c31a8",
	// go-rpmutils' packages: gzip, bzip2, lzma, xz, zstd and
	// uncompressed payloads, an old i386 package, epochs.
	"github.com/sassoftware/go-rpmutils@v0.4.0",
}

var (
	outsideOnce sync.Once
	outsideDirs []string
	outsideErr  error
)

// outsideTestdata downloads the modules once per test process and returns
// their testdata directories.
func outsideTestdata(t testing.TB) []string {
	t.Helper()
	NeedTools(t, "go")
	dir := Scratch(t)
	outsideOnce.Do(func() {
		for _, m := range outsideModules {
			cmd := exec.Command("go", "mod", "download", "-json", m)
			cmd.Dir = dir // outside any module: only the download
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var info struct{ Dir, Error string }
			if jerr := json.Unmarshal(out.Bytes(), &info); jerr != nil || err != nil || info.Error != "" {
				outsideErr = &downloadError{m, info.Error + errb.String(), err}
				return
			}
			outsideDirs = append(outsideDirs, filepath.Join(info.Dir, "testdata"))
		}
	})
	if outsideErr != nil {
		t.Fatal(outsideErr)
	}
	return outsideDirs
}

type downloadError struct {
	mod, msg string
	err      error
}

func (e *downloadError) Error() string {
	return "go mod download " + e.mod + " (the Go module proxy must be reachable): " + e.msg
}

// OutsideRPMs lists every RPM of the outside modules, sorted by name.
func OutsideRPMs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, d := range outsideTestdata(t) {
		for _, pat := range []string{"*.rpm", "*/*.rpm"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			out = append(out, m...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return filepath.Base(out[i]) < filepath.Base(out[j]) })
	if len(out) < 20 {
		t.Fatalf("want at least 20 RPMs in %v, found %d", outsideDirs, len(out))
	}
	return out
}

// OutsideRPM returns the outside RPM with the given file name.
func OutsideRPM(t testing.TB, name string) string {
	t.Helper()
	for _, p := range OutsideRPMs(t) {
		if filepath.Base(p) == name {
			return p
		}
	}
	t.Fatalf("%s not among the outside RPMs", name)
	return ""
}

// CentOSKey returns the path of RPM-GPG-KEY-CentOS-<n>.
func CentOSKey(t testing.TB, n string) string {
	t.Helper()
	for _, d := range outsideTestdata(t) {
		p := filepath.Join(d, "RPM-GPG-KEY-CentOS-"+n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("RPM-GPG-KEY-CentOS-%s not found", n)
	return ""
}

func ReadKeyFile(t testing.TB, path string) openpgp.EntityList {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	el, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return el
}

// --- V3 signing ------------------------------------------------------------

// V3Key is a test signing key: its go-crypto entity (for the public key
// file) and the raw private key, which signs V3 packets.
type V3Key struct {
	Entity *openpgp.Entity
	KeyID  uint64
	rsa    *rsa.PrivateKey
	dsa    *dsa.PrivateKey
}

var (
	v3Once              sync.Once
	v3RSA, v3DSA, v3Sub *V3Key
	v3Stranger          *V3Key
	v3Err               error
)

var KeyTime = time.Unix(1400000000, 0)

// V3Keys generates the test keys once: RSA 2048, DSA 1024 (the size
// CentOS 3-5 used), an RSA key whose signing subkey signs, and an RSA key
// nobody trusts.
func V3Keys(t testing.TB) (rsaKey, dsaKey, subKey, stranger *V3Key) {
	t.Helper()
	v3Once.Do(func() {
		newRSA := func(name string) (*V3Key, error) {
			e, err := openpgp.NewEntity(name, "", "test@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA256, Time: func() time.Time { return KeyTime }})
			if err != nil {
				return nil, err
			}
			return &V3Key{Entity: e, KeyID: e.PrimaryKey.KeyId, rsa: e.PrivateKey.PrivateKey.(*rsa.PrivateKey)}, nil
		}
		if v3RSA, v3Err = newRSA("V3 RSA Test"); v3Err != nil {
			return
		}
		if v3Stranger, v3Err = newRSA("Stranger"); v3Err != nil {
			return
		}
		if v3Sub, v3Err = newRSA("Subkey Test"); v3Err != nil {
			return
		}
		cfg := &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048, DefaultHash: crypto.SHA256, Time: func() time.Time { return KeyTime }}
		if v3Err = v3Sub.Entity.AddSigningSubkey(cfg); v3Err != nil {
			return
		}
		sk := v3Sub.Entity.Subkeys[len(v3Sub.Entity.Subkeys)-1]
		v3Sub.KeyID, v3Sub.rsa = sk.PublicKey.KeyId, sk.PrivateKey.PrivateKey.(*rsa.PrivateKey)

		var priv dsa.PrivateKey
		if v3Err = dsa.GenerateParameters(&priv.Parameters, rand.Reader, dsa.L1024N160); v3Err != nil {
			return
		}
		if v3Err = dsa.GenerateKey(&priv, rand.Reader); v3Err != nil {
			return
		}
		pk := packet.NewDSAPrivateKey(KeyTime, &priv)
		e := &openpgp.Entity{PrimaryKey: &pk.PublicKey, PrivateKey: pk, Identities: map[string]*openpgp.Identity{}}
		uid := packet.NewUserId("V3 DSA Test", "", "dsa@example.com")
		sig := &packet.Signature{Version: 4, SigType: packet.SigTypePositiveCert, PubKeyAlgo: packet.PubKeyAlgoDSA, Hash: crypto.SHA256,
			CreationTime: KeyTime, IssuerKeyId: &pk.KeyId, FlagsValid: true, FlagSign: true, FlagCertify: true}
		if v3Err = sig.SignUserId(uid.Id, e.PrimaryKey, e.PrivateKey, nil); v3Err != nil {
			return
		}
		e.Identities[uid.Id] = &openpgp.Identity{Name: uid.Id, UserId: uid, SelfSignature: sig, Signatures: []*packet.Signature{sig}}
		v3DSA = &V3Key{Entity: e, KeyID: pk.KeyId, dsa: &priv}
	})
	if v3Err != nil {
		t.Fatal(v3Err)
	}
	return v3RSA, v3DSA, v3Sub, v3Stranger
}

func mpi(b []byte) []byte {
	b = bytes.TrimLeft(b, "\x00")
	bits := 0
	if len(b) > 0 {
		bits = (len(b)-1)*8 + bitLen(b[0])
	}
	return append([]byte{byte(bits >> 8), byte(bits)}, b...)
}

func bitLen(c byte) int {
	n := 0
	for ; c != 0; c >>= 1 {
		n++
	}
	return n
}

var openpgpHashIDs = map[crypto.Hash]byte{crypto.SHA1: 2, crypto.SHA256: 8, crypto.SHA512: 10}

// signV3 makes a V3 signature packet (RFC 4880 §5.2.2) over data.
func signV3(t testing.TB, k *V3Key, h crypto.Hash, data []byte, when time.Time) []byte {
	t.Helper()
	var body bytes.Buffer
	body.Write([]byte{3, 5, 0})
	binary.Write(&body, binary.BigEndian, uint32(when.Unix()))
	binary.Write(&body, binary.BigEndian, k.KeyID)
	hh := h.New()
	hh.Write(data)
	hh.Write(body.Bytes()[2:7]) // sigtype and time
	digest := hh.Sum(nil)
	switch {
	case k.rsa != nil:
		body.Write([]byte{1, openpgpHashIDs[h]})
		body.Write(digest[:2])
		s, err := rsa.SignPKCS1v15(rand.Reader, k.rsa, h, digest)
		if err != nil {
			t.Fatal(err)
		}
		body.Write(mpi(s))
	default:
		body.Write([]byte{17, openpgpHashIDs[h]})
		body.Write(digest[:2])
		r, s, err := dsa.Sign(rand.Reader, k.dsa, digest[:min(len(digest), 20)])
		if err != nil {
			t.Fatal(err)
		}
		body.Write(mpi(r.Bytes()))
		body.Write(mpi(s.Bytes()))
	}
	b := body.Bytes()
	if len(b) < 256 {
		return append([]byte{0x88, byte(len(b))}, b...)
	}
	return append([]byte{0x89, byte(len(b) >> 8), byte(len(b))}, b...)
}

// --- signature header surgery -----------------------------------------------

type HdrEntry struct {
	Tag, Typ, Count uint32
	Data            []byte
}

var typeSize = map[uint32]int{0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}

// SplitRPM returns the lead, the signature header entries (without the
// region tag) and the rest of the file (main header and payload).
func SplitRPM(t testing.TB, b []byte) (lead []byte, ents []HdrEntry, rest []byte) {
	t.Helper()
	il := int(binary.BigEndian.Uint32(b[96+8:]))
	dl := int(binary.BigEndian.Uint32(b[96+12:]))
	data := b[96+16+il*16 : 96+16+il*16+dl]
	for i := 0; i < il; i++ {
		e := b[96+16+i*16:]
		ent := HdrEntry{Tag: binary.BigEndian.Uint32(e), Typ: binary.BigEndian.Uint32(e[4:]), Count: binary.BigEndian.Uint32(e[12:])}
		off := int(binary.BigEndian.Uint32(e[8:]))
		if ent.Tag == 62 {
			continue
		}
		var n int
		if sz, ok := typeSize[ent.Typ]; ok {
			n = sz * int(ent.Count)
		} else {
			end := off
			for c := 0; c < int(ent.Count); c++ {
				end += bytes.IndexByte(data[end:], 0) + 1
			}
			n = end - off
		}
		ent.Data = bytes.Clone(data[off : off+n])
		ents = append(ents, ent)
	}
	end := 96 + 16 + il*16 + (dl+7)/8*8
	return b[:96], ents, b[end:]
}

// JoinRPM writes a signature header of ents (sorted, with its region tag)
// between lead and rest.
func JoinRPM(lead []byte, ents []HdrEntry, rest []byte) []byte {
	sort.SliceStable(ents, func(i, j int) bool { return ents[i].Tag < ents[j].Tag })
	var data bytes.Buffer
	var index bytes.Buffer
	il := len(ents) + 1
	offs := make([]int, len(ents))
	for i, e := range ents {
		if a := map[uint32]int{3: 2, 4: 4, 5: 8}[e.Typ]; a > 0 {
			for data.Len()%a != 0 {
				data.WriteByte(0)
			}
		}
		offs[i] = data.Len()
		data.Write(e.Data)
	}
	trailerOff := data.Len()
	binary.Write(&data, binary.BigEndian, []uint32{62, 7, uint32(int32(-il * 16)), 16})
	binary.Write(&index, binary.BigEndian, []uint32{62, 7, uint32(trailerOff), 16})
	for i, e := range ents {
		binary.Write(&index, binary.BigEndian, []uint32{e.Tag, e.Typ, uint32(offs[i]), e.Count})
	}
	var out bytes.Buffer
	out.Write(lead)
	out.Write([]byte{0x8e, 0xad, 0xe8, 1, 0, 0, 0, 0})
	binary.Write(&out, binary.BigEndian, []uint32{uint32(il), uint32(data.Len())})
	out.Write(index.Bytes())
	out.Write(data.Bytes())
	for pad := (data.Len()+7)/8*8 - data.Len(); pad > 0; pad-- {
		out.WriteByte(0)
	}
	out.Write(rest)
	return out.Bytes()
}

// MainHeaderLen is the length of the main header at the start of rest.
func MainHeaderLen(rest []byte) int {
	il := int(binary.BigEndian.Uint32(rest[8:]))
	dl := int(binary.BigEndian.Uint32(rest[12:]))
	return 16 + il*16 + dl
}

// SigSpec says which signatures to put into a package.
type SigSpec struct {
	Key    *V3Key
	Hash   crypto.Hash
	Header bool // RSAHEADER/DSAHEADER over the header
	Full   bool // PGP/GPG over header and payload
}

// V3Sign replaces the signatures of the RPM at in with V3 packets.
func V3Sign(t testing.TB, in, out string, specs ...SigSpec) {
	t.Helper()
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	lead, ents, rest := SplitRPM(t, b)
	kept := ents[:0]
	for _, e := range ents {
		switch e.Tag {
		case 267, 268, 1002, 1005, 1008: // signatures and reserved space
		default:
			kept = append(kept, e)
		}
	}
	hdr := rest[:MainHeaderLen(rest)]
	for _, s := range specs {
		hdrTag, fullTag := uint32(268), uint32(1002)
		if s.Key.dsa != nil {
			hdrTag, fullTag = 267, 1005
		}
		if s.Header {
			p := signV3(t, s.Key, s.Hash, hdr, KeyTime.Add(time.Hour))
			kept = append(kept, HdrEntry{Tag: hdrTag, Typ: 7, Count: uint32(len(p)), Data: p})
		}
		if s.Full {
			p := signV3(t, s.Key, s.Hash, rest, KeyTime.Add(time.Hour))
			kept = append(kept, HdrEntry{Tag: fullTag, Typ: 7, Count: uint32(len(p)), Data: p})
		}
	}
	if err := os.WriteFile(out, JoinRPM(lead, kept, rest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// EditSigHeader rewrites the signature header of the RPM at path.
func EditSigHeader(t testing.TB, path, out string, edit func([]HdrEntry) []HdrEntry) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lead, ents, rest := SplitRPM(t, b)
	if err := os.WriteFile(out, JoinRPM(lead, edit(ents), rest), 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	eddsaOnce sync.Once
	eddsaEnt  *openpgp.Entity
	eddsaErr  error
)

// EdDSAKey generates, once, an Ed25519 key (OpenPGP EdDSA, algorithm 22,
// the V4 kind rpm 4.18 imports and verifies) that signs with its primary
// key; go-crypto gives it a Curve25519 encryption subkey.
func EdDSAKey(t testing.TB) *openpgp.Entity {
	t.Helper()
	eddsaOnce.Do(func() {
		eddsaEnt, eddsaErr = openpgp.NewEntity("EdDSA Test", "", "eddsa@example.com",
			&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, DefaultHash: crypto.SHA256, Time: func() time.Time { return KeyTime }})
	})
	if eddsaErr != nil {
		t.Fatal(eddsaErr)
	}
	return eddsaEnt
}
