package rpmsig

import (
	"bytes"
	"crypto"

	//lint:ignore SA1019 the keys of CentOS 2-5 and their package signatures are DSA; checking them needs the key type go-crypto returns
	"crypto/dsa"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP public-key algorithm ids (RFC 4880 §9.1).
const (
	algoRSA         = 1
	algoRSASignOnly = 3
	algoDSA         = 17
	algoECDSA       = 19
	algoEdDSA       = 22
)

// hashes maps OpenPGP hash ids (RFC 4880 §9.4) to Go hashes.
var hashes = map[byte]crypto.Hash{
	1:  crypto.MD5,
	2:  crypto.SHA1,
	8:  crypto.SHA256,
	9:  crypto.SHA384,
	10: crypto.SHA512,
	11: crypto.SHA224,
}

var hashNames = map[byte]string{1: "MD5", 2: "SHA1", 3: "RIPEMD160", 8: "SHA256", 9: "SHA384", 10: "SHA512", 11: "SHA224"}

var algoNames = map[byte]string{algoRSA: "RSA", 2: "RSA", algoRSASignOnly: "RSA", algoDSA: "DSA", algoECDSA: "ECDSA", algoEdDSA: "EdDSA", 27: "Ed25519", 28: "Ed448"}

// Signature is one parsed signature packet.
type Signature struct {
	Version int
	// PubKeyAlgo and HashAlgo are the OpenPGP algorithm ids.
	PubKeyAlgo byte
	HashAlgo   byte
	SigType    byte
	// KeyID is the issuer's key id (0 when the packet names none).
	KeyID   uint64
	Created time.Time

	hashed []byte // the signed part of the packet: V3 sigtype+time, V4 version..hashed subpackets
	left16 [2]byte
	mpis   [][]byte
	raw    []byte // the packet, for go-crypto (V4 algorithms other than RSA and DSA)
}

// Kind names the signature as rpm prints it: "V3 RSA/SHA256".
func (s *Signature) Kind() string {
	a, h := algoNames[s.PubKeyAlgo], hashNames[s.HashAlgo]
	if a == "" {
		a = fmt.Sprintf("algorithm %d", s.PubKeyAlgo)
	}
	if h == "" {
		h = fmt.Sprintf("hash %d", s.HashAlgo)
	}
	return fmt.Sprintf("V%d %s/%s", s.Version, a, h)
}

// KeyIDString is the issuer key id as 16 lowercase hex digits.
func (s *Signature) KeyIDString() string { return fmt.Sprintf("%016x", s.KeyID) }

// Hash returns the hash the signature is computed with, or an error when
// it is one Go does not have.
func (s *Signature) Hash() (crypto.Hash, error) {
	h, ok := hashes[s.HashAlgo]
	if !ok || !h.Available() {
		return 0, fmt.Errorf("unsupported hash algorithm %d", s.HashAlgo)
	}
	return h, nil
}

var errTruncated = errors.New("signature packet is truncated")

// Parse reads b, which must hold exactly one OpenPGP signature packet.
func Parse(b []byte) (*Signature, error) {
	if len(b) < 2 {
		return nil, errTruncated
	}
	ctb := b[0]
	if ctb&0x80 == 0 {
		return nil, errors.New("not an OpenPGP packet")
	}
	var tag byte
	var body []byte
	rest := b[1:]
	if ctb&0x40 == 0 { // old format
		tag = (ctb >> 2) & 0x0f
		n := map[byte]int{0: 1, 1: 2, 2: 4}[ctb&3]
		if ctb&3 == 3 {
			return nil, errors.New("signature packet of indeterminate length")
		}
		if len(rest) < n {
			return nil, errTruncated
		}
		var l uint64
		for _, c := range rest[:n] {
			l = l<<8 | uint64(c)
		}
		rest = rest[n:]
		if l > uint64(len(rest)) {
			return nil, errTruncated
		}
		body, rest = rest[:l], rest[l:]
	} else {
		tag = ctb & 0x3f
		first := int(rest[0])
		var l int
		switch {
		case first < 192:
			l, rest = first, rest[1:]
		case first < 224:
			if len(rest) < 2 {
				return nil, errTruncated
			}
			l, rest = (first-192)<<8+int(rest[1])+192, rest[2:]
		case first == 255:
			if len(rest) < 5 {
				return nil, errTruncated
			}
			l, rest = int(binary.BigEndian.Uint32(rest[1:5])), rest[5:]
		default:
			return nil, errors.New("signature packet with partial body lengths")
		}
		if l < 0 || l > len(rest) {
			return nil, errTruncated
		}
		body, rest = rest[:l], rest[l:]
	}
	if tag != 2 {
		return nil, fmt.Errorf("OpenPGP packet of type %d where a signature was expected", tag)
	}
	if len(rest) != 0 {
		return nil, errors.New("data after the signature packet")
	}
	if len(body) == 0 {
		return nil, errTruncated
	}
	s := &Signature{Version: int(body[0]), raw: b}
	var mpiData []byte
	switch s.Version {
	case 3:
		// version, hashed length (5), sigtype, time(4), key id(8),
		// public-key algorithm, hash algorithm, left 16 bits, MPIs.
		if len(body) < 19 {
			return nil, errTruncated
		}
		if body[1] != 5 {
			return nil, fmt.Errorf("V3 signature with hashed length %d, not 5", body[1])
		}
		s.SigType = body[2]
		s.hashed = body[2:7]
		s.Created = time.Unix(int64(binary.BigEndian.Uint32(body[3:7])), 0).UTC()
		s.KeyID = binary.BigEndian.Uint64(body[7:15])
		s.PubKeyAlgo, s.HashAlgo = body[15], body[16]
		copy(s.left16[:], body[17:19])
		mpiData = body[19:]
	case 4:
		if len(body) < 6 {
			return nil, errTruncated
		}
		s.SigType, s.PubKeyAlgo, s.HashAlgo = body[1], body[2], body[3]
		hl := int(binary.BigEndian.Uint16(body[4:6]))
		if len(body) < 6+hl+2 {
			return nil, errTruncated
		}
		s.hashed = body[:6+hl]
		if err := s.subpackets(body[6:6+hl], true); err != nil {
			return nil, err
		}
		p := body[6+hl:]
		ul := int(binary.BigEndian.Uint16(p[:2]))
		if len(p) < 2+ul+2 {
			return nil, errTruncated
		}
		if err := s.subpackets(p[2:2+ul], false); err != nil {
			return nil, err
		}
		p = p[2+ul:]
		copy(s.left16[:], p[:2])
		mpiData = p[2:]
	default:
		return nil, fmt.Errorf("unsupported signature packet version %d", s.Version)
	}
	want := 0
	switch s.PubKeyAlgo {
	case algoRSA, 2, algoRSASignOnly:
		want = 1
	case algoDSA, algoECDSA, algoEdDSA:
		want = 2
	}
	for len(mpiData) > 0 && (want == 0 || len(s.mpis) < want) {
		if len(mpiData) < 2 {
			return nil, errTruncated
		}
		n := (int(binary.BigEndian.Uint16(mpiData)) + 7) / 8
		if len(mpiData) < 2+n {
			return nil, errTruncated
		}
		s.mpis = append(s.mpis, mpiData[2:2+n])
		mpiData = mpiData[2+n:]
	}
	if want != 0 && (len(s.mpis) != want || len(mpiData) != 0) {
		return nil, fmt.Errorf("%s signature has the wrong number of values", s.Kind())
	}
	return s, nil
}

// subpackets reads the V4 subpackets rpm relies on: creation time and
// issuer (key id, or the fingerprint's low 64 bits).
func (s *Signature) subpackets(b []byte, hashed bool) error {
	for len(b) > 0 {
		var l int
		switch first := int(b[0]); {
		case first < 192:
			l, b = first, b[1:]
		case first < 255:
			if len(b) < 2 {
				return errTruncated
			}
			l, b = (first-192)<<8+int(b[1])+192, b[2:]
		default:
			if len(b) < 5 {
				return errTruncated
			}
			l, b = int(binary.BigEndian.Uint32(b[1:5])), b[5:]
		}
		if l < 1 || l > len(b) {
			return errTruncated
		}
		typ, data := b[0]&0x7f, b[1:l]
		switch {
		case typ == 2 && hashed && len(data) == 4:
			s.Created = time.Unix(int64(binary.BigEndian.Uint32(data)), 0).UTC()
		case typ == 16 && len(data) == 8 && s.KeyID == 0:
			s.KeyID = binary.BigEndian.Uint64(data)
		case typ == 33 && len(data) >= 9 && s.KeyID == 0 && data[0] == 4:
			s.KeyID = binary.BigEndian.Uint64(data[len(data)-8:])
		}
		b = b[l:]
	}
	return nil
}

// Errors Verify returns.
var (
	// ErrDigest: the data's digest does not start with the signature's
	// 16 bits, so the signed data was changed (rpm says BAD even without
	// the key).
	ErrDigest = errors.New("digest does not match the signature")
	// ErrBad: the key does not verify the signature.
	ErrBad = errors.New("signature does not verify")
)

// Digest finishes signed (fed with the signed data) with the packet's
// trailer and returns the digest; it fails with ErrDigest when the digest
// does not start with the 16 bits the packet records.
func (s *Signature) Digest(signed hash.Hash) ([]byte, error) {
	signed.Write(s.hashed)
	if s.Version == 4 {
		var tr [6]byte
		tr[0], tr[1] = 4, 0xff
		binary.BigEndian.PutUint32(tr[2:], uint32(len(s.hashed)))
		signed.Write(tr[:])
	}
	d := signed.Sum(nil)
	if len(d) < 2 || d[0] != s.left16[0] || d[1] != s.left16[1] {
		return d, ErrDigest
	}
	return d, nil
}

// Verify checks the signature over digest (from Digest) with key.
func (s *Signature) Verify(digest []byte, key *packet.PublicKey) error {
	h, err := s.Hash()
	if err != nil {
		return err
	}
	switch s.PubKeyAlgo {
	case algoRSA, 2, algoRSASignOnly:
		pub, ok := key.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: an RSA signature, the key is %s", ErrBad, keyAlgo(key))
		}
		sig := s.mpis[0]
		if k := pub.Size(); len(sig) < k {
			sig = append(make([]byte, k-len(sig)), sig...)
		}
		if err := rsa.VerifyPKCS1v15(pub, h, digest, sig); err != nil {
			return ErrBad
		}
		return nil
	case algoDSA:
		pub, ok := key.PublicKey.(*dsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: a DSA signature, the key is %s", ErrBad, keyAlgo(key))
		}
		if n := (pub.Q.BitLen() + 7) / 8; len(digest) > n {
			digest = digest[:n]
		}
		if !dsa.Verify(pub, digest, new(big.Int).SetBytes(s.mpis[0]), new(big.Int).SetBytes(s.mpis[1])) {
			return ErrBad
		}
		return nil
	}
	if s.Version != 4 {
		return fmt.Errorf("unsupported V%d %s signature", s.Version, s.Kind())
	}
	// Other V4 algorithms (ECDSA, EdDSA): go-crypto parses and verifies
	// the packet; it recomputes the digest, so give it a hash that
	// replays the one already computed.
	p, err := packet.Read(bytes.NewReader(s.raw))
	if err != nil {
		return err
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return errors.New("not a signature packet")
	}
	if key.PubKeyAlgo != sig.PubKeyAlgo {
		return fmt.Errorf("%w: a %s signature, the key is %s", ErrBad, s.Kind(), keyAlgo(key))
	}
	if err := key.VerifySignature(&fixedHash{Hash: h.New(), sum: digest}, sig); err != nil {
		return ErrBad
	}
	return nil
}

// fixedHash returns a digest computed already; go-crypto writes the
// packet's trailer into it before asking for the sum.
type fixedHash struct {
	hash.Hash
	sum []byte
}

func (f *fixedHash) Write(b []byte) (int, error) { return len(b), nil }
func (f *fixedHash) Sum(b []byte) []byte         { return append(b, f.sum...) }

func keyAlgo(k *packet.PublicKey) string {
	if n := algoNames[byte(k.PubKeyAlgo)]; n != "" {
		return n
	}
	return fmt.Sprintf("algorithm %d", k.PubKeyAlgo)
}

// Key is one public key (primary or subkey) of a keyring.
type Key struct {
	Public *packet.PublicKey
	// Primary is the key id of the certificate the key belongs to.
	Primary uint64
	// Name is the certificate's first user id.
	Name string
}

// Keyring finds keys by key id, subkeys included, as rpm does.
type Keyring struct {
	byID map[uint64][]Key
}

// NewKeyring indexes every primary key and subkey of el.
func NewKeyring(el openpgp.EntityList) *Keyring {
	k := &Keyring{byID: map[uint64][]Key{}}
	for _, e := range el {
		if e == nil || e.PrimaryKey == nil {
			continue
		}
		name := ""
		for n := range e.Identities {
			if name == "" || n < name {
				name = n
			}
		}
		id := e.PrimaryKey.KeyId
		k.byID[id] = append(k.byID[id], Key{Public: e.PrimaryKey, Primary: id, Name: name})
		for _, sk := range e.Subkeys {
			if sk.PublicKey != nil {
				k.byID[sk.PublicKey.KeyId] = append(k.byID[sk.PublicKey.KeyId], Key{Public: sk.PublicKey, Primary: id, Name: name})
			}
		}
	}
	return k
}

// Lookup returns the keys with the given key id.
func (k *Keyring) Lookup(id uint64) []Key {
	if k == nil {
		return nil
	}
	return k.byID[id]
}

// VerifyWith checks the signature over digest against every key of the
// keyring with the signature's key id. It returns the key that verified
// it; ErrNoKey when no key has that id; ErrBad when keys have the id but
// none verifies.
func (k *Keyring) VerifyWith(s *Signature, digest []byte) (Key, error) {
	keys := k.Lookup(s.KeyID)
	if len(keys) == 0 {
		return Key{}, ErrNoKey
	}
	var last error
	for _, key := range keys {
		err := s.Verify(digest, key.Public)
		if err == nil {
			return key, nil
		}
		last = err
	}
	return Key{}, last
}

// ErrNoKey: no key in the keyring has the signature's key id.
var ErrNoKey = errors.New("key not among the trusted keys")
