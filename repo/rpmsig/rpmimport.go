package rpmsig

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// OpenPGP packet tags rpm's key import looks at.
const (
	tagSignature    = 2
	tagPublicKey    = 6
	tagUserID       = 13
	tagPublicSubkey = 14
	tagReserved     = 0
)

// maxImportBytes is the largest key rpm imports (RPM_MAX_OPENPGP_BYTES).
const maxImportBytes = 65535

// ImportRefusal tells whether `rpmkeys --import` of rpm 4.18 would refuse
// the transferable public key in packets (one armored block, decoded),
// following the rules of rpm 4.18's OpenPGP parser (rpmio/rpmpgp_internal.c
// pgpPrtParams): the key must be at most 64 KiB of well-formed packets
// (no partial lengths), begin with a V4 RSA, DSA or EdDSA primary key,
// every signature packet must be V3 or V4 with the number of MPIs its
// algorithm has (RSA, DSA, EdDSA), a V4 one with exactly one
// hashed creation time, at most one hashed key-flags subpacket and no
// critical subpacket other than those two and the issuer, and every subkey
// must be followed by a subkey binding signature that the primary key
// verifies. It returns nil when rpm would import the key, else why not,
// with the primary key id when it could be read (0 otherwise).
func ImportRefusal(packets []byte) (keyID uint64, err error) {
	if len(packets) > maxImportBytes {
		return 0, fmt.Errorf("the key is %d bytes, more than rpm's limit of %d", len(packets), maxImportBytes)
	}
	type pkt struct {
		tag  byte
		body []byte
	}
	var all []pkt
	var primary *packet.PublicKey
	expect := false // a subkey was just read: a binding signature must follow
	for p := packets; len(p) > 0; {
		tag, body, rest, err := decodePacket(p)
		if err != nil {
			return keyID, err
		}
		whole := p[:len(p)-len(rest)]
		p = rest
		if len(all) == 0 && tag != tagPublicKey {
			return 0, fmt.Errorf("the first packet is tag %d, not a public key", tag)
		}
		all = append(all, pkt{tag, body})
		if expect {
			if tag != tagSignature {
				return keyID, errors.New("a subkey is not followed by its binding signature")
			}
		}
		switch tag {
		case tagSignature:
			sig, err := checkImportSig(body)
			if err != nil {
				return keyID, err
			}
			if expect {
				if sig.SigType != 0x18 {
					return keyID, fmt.Errorf("the signature after a subkey is of type %#x, not a subkey binding", sig.SigType)
				}
				if err := verifyBinding(sig, primary, all[0].body, all[len(all)-2].body); err != nil {
					return keyID, fmt.Errorf("a subkey binding signature does not verify (%v)", err)
				}
				expect = false
			}
		case tagPublicKey:
			id, err := checkImportKey(body)
			if err != nil {
				return keyID, err
			}
			if primary == nil {
				keyID = id
				if pk, err := packet.Read(bytes.NewReader(whole)); err == nil {
					primary, _ = pk.(*packet.PublicKey)
				}
			}
		case tagReserved:
			return keyID, errors.New("a packet has the reserved tag 0")
		}
		if tag == tagPublicSubkey {
			expect = true
		}
	}
	if len(all) == 0 {
		return 0, errors.New("no packets")
	}
	if expect {
		return keyID, errors.New("the last subkey has no binding signature")
	}
	return keyID, nil
}

// decodePacket splits off one packet as rpm's decodePkt does: old-format
// lengths of 1, 2 or 4 bytes (not indeterminate), new-format lengths of 1,
// 2 or 5 bytes (not partial).
func decodePacket(p []byte) (tag byte, body, rest []byte, err error) {
	if len(p) < 2 || p[0]&0x80 == 0 {
		return 0, nil, nil, errors.New("a packet is malformed")
	}
	var n, hlen int
	if p[0]&0x40 != 0 {
		tag = p[0] & 0x3f
		l, ll := subpacketLen(p[1:])
		if ll == 0 {
			return 0, nil, nil, errors.New("a packet has a partial or truncated length, which rpm does not read")
		}
		n, hlen = l, 1+ll
	} else {
		tag = (p[0] >> 2) & 0xf
		ll := 1 << (p[0] & 3)
		if ll > 4 || len(p) < 1+ll {
			return 0, nil, nil, errors.New("a packet has an indeterminate or truncated length, which rpm does not read")
		}
		for _, c := range p[1 : 1+ll] {
			n = n<<8 | int(c)
		}
		hlen = 1 + ll
	}
	if n < 0 || hlen+n > len(p) {
		return 0, nil, nil, errors.New("a packet is truncated")
	}
	return tag, p[hlen : hlen+n], p[hlen+n:], nil
}

// subpacketLen decodes a new-format (or subpacket) length: the length and
// the bytes it took, 0 when it is partial or truncated.
func subpacketLen(b []byte) (int, int) {
	switch {
	case len(b) < 1:
		return 0, 0
	case b[0] < 192:
		return int(b[0]), 1
	case b[0] < 224 && len(b) > 2:
		return (int(b[0])-192)<<8 + int(b[1]) + 192, 2
	case b[0] == 255 && len(b) > 5:
		return int(binary.BigEndian.Uint32(b[1:5])), 5
	}
	return 0, 0
}

// checkImportKey checks a public key packet as rpm does and returns its
// key id.
func checkImportKey(body []byte) (uint64, error) {
	if len(body) < 1 {
		return 0, errors.New("an empty key packet")
	}
	if body[0] != 4 {
		return 0, fmt.Errorf("a V%d key: rpm imports only V4 keys", body[0])
	}
	if len(body) < 7 {
		return 0, errors.New("a truncated key packet")
	}
	mpis := body[6:]
	var n int
	switch body[5] {
	case algoRSA:
		n = 2
	case algoDSA:
		n = 4
	case algoEdDSA:
		if len(mpis) < 1 || mpis[0] == 0 || mpis[0] == 0xff || len(mpis) < 1+int(mpis[0]) {
			return 0, errors.New("an EdDSA key without a curve")
		}
		mpis = mpis[1+int(mpis[0]):]
		n = 1
	default:
		name := algoNames[body[5]]
		if name == "" {
			name = fmt.Sprintf("algorithm %d", body[5])
		}
		return 0, fmt.Errorf("the primary key is %s, which rpm does not import (RSA, DSA and EdDSA only)", name)
	}
	if !mpisFit(mpis, n) {
		return 0, errors.New("a key packet whose MPIs do not match its algorithm")
	}
	h := sha1.New()
	h.Write([]byte{0x99, byte(len(body) >> 8), byte(len(body))})
	h.Write(body)
	fp := h.Sum(nil)
	return binary.BigEndian.Uint64(fp[12:]), nil
}

// mpisFit reports whether b is exactly n MPIs.
func mpisFit(b []byte, n int) bool {
	for i := 0; i < n; i++ {
		if len(b) < 2 {
			return false
		}
		l := 2 + (int(binary.BigEndian.Uint16(b))+7)/8
		if len(b) < l {
			return false
		}
		b = b[l:]
	}
	return len(b) == 0
}

// sigMPIs is the number of MPIs of a signature by each algorithm rpm 4.18
// reads (Debian's rpm 4.18 calls an ECDSA signature "invalid").
var sigMPIs = map[byte]int{algoRSA: 1, algoDSA: 2, algoEdDSA: 2}

// checkImportSig checks a signature packet of a key as rpm's pgpPrtSig
// does and parses it.
func checkImportSig(body []byte) (*Signature, error) {
	if len(body) < 1 {
		return nil, errors.New("an empty signature packet")
	}
	var mpis []byte
	switch body[0] {
	case 3:
		if len(body) <= 19 || body[1] != 5 {
			return nil, errors.New("a malformed V3 signature")
		}
		mpis = body[19:]
	case 4:
		if len(body) <= 6 {
			return nil, errors.New("a truncated V4 signature")
		}
		p := body[4:]
		for hashed := true; ; hashed = false {
			if len(p) < 2 {
				return nil, errors.New("a truncated V4 signature")
			}
			l := int(binary.BigEndian.Uint16(p))
			if len(p) < 2+l {
				return nil, errors.New("a truncated V4 signature")
			}
			if err := checkImportSubpackets(p[2:2+l], hashed); err != nil {
				return nil, err
			}
			p = p[2+l:]
			if !hashed {
				break
			}
		}
		if len(p) < 2 {
			return nil, errors.New("a truncated V4 signature")
		}
		mpis = p[2:]
	default:
		return nil, fmt.Errorf("a V%d signature, which rpm does not read", body[0])
	}
	algo := body[2] // V4
	if body[0] == 3 {
		algo = body[15]
	}
	n, ok := sigMPIs[algo]
	if !ok {
		name := algoNames[algo]
		if name == "" {
			name = fmt.Sprintf("algorithm %d", algo)
		}
		return nil, fmt.Errorf("a signature is made with %s, which rpm does not read", name)
	}
	if !mpisFit(mpis, n) {
		return nil, errors.New("a signature whose MPIs do not match its algorithm")
	}
	// Parse wants a whole packet.
	hdr := []byte{0xc0 | tagSignature, 255, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[2:], uint32(len(body)))
	return Parse(append(hdr, body...))
}

// subpacketNames names the subpacket types a refusal mentions.
var subpacketNames = map[byte]string{
	3: "signature expiration time", 4: "exportable certification", 5: "trust signature", 6: "regular expression",
	7: "revocable", 9: "key expiration time", 11: "preferred symmetric algorithms", 12: "revocation key",
	20: "notation data", 21: "preferred hash algorithms", 22: "preferred compression algorithms",
	23: "key server preferences", 24: "preferred key server", 25: "primary user id", 26: "policy URI",
	28: "signer's user id", 29: "reason for revocation", 30: "features", 31: "signature target",
	32: "embedded signature", 33: "issuer fingerprint",
}

// checkImportSubpackets applies pgpPrtSubType's rules: only creation time
// (hashed, 4 bytes, once), issuer and key flags (hashed, once) are
// implemented, and any other subpacket marked critical is refused.
func checkImportSubpackets(b []byte, hashed bool) error {
	created, flags := false, false
	for len(b) > 0 {
		l, ll := subpacketLen(b)
		if ll == 0 || l < 1 || ll+l > len(b) {
			return errors.New("a signature has a malformed subpacket")
		}
		sp := b[ll : ll+l]
		typ, critical := sp[0]&0x7f, sp[0]&0x80 != 0
		impl := false
		switch typ {
		case 2:
			if hashed && l-1 == 4 {
				if created {
					return errors.New("a signature has two creation times")
				}
				created, impl = true, true
			}
		case 16:
			impl = true
		case 27:
			if hashed {
				if flags {
					return errors.New("a signature has two key-flags subpackets")
				}
				flags, impl = true, true
			}
		}
		if critical && !impl {
			name := subpacketNames[typ]
			if name == "" {
				name = fmt.Sprintf("type %d", typ)
			}
			where := "hashed"
			if !hashed {
				where = "unhashed"
			}
			return fmt.Errorf("a signature has a critical %s subpacket (%s), which rpm does not implement", name, where)
		}
		b = b[ll+l:]
	}
	if hashed && !created {
		return errors.New("a V4 signature without a hashed creation time")
	}
	return nil
}

// verifyBinding checks a subkey binding signature with the primary key,
// as rpm's pgpVerifySelf does: over the primary and the subkey packet.
func verifyBinding(sig *Signature, primary *packet.PublicKey, primaryBody, subkeyBody []byte) error {
	if primary == nil {
		return errors.New("the primary key does not parse")
	}
	hf, err := sig.Hash()
	if err != nil {
		return err
	}
	h := hf.New()
	for _, b := range [][]byte{primaryBody, subkeyBody} {
		h.Write([]byte{0x99, byte(len(b) >> 8), byte(len(b))})
		h.Write(b)
	}
	d, err := sig.Digest(h)
	if err != nil {
		return err
	}
	return sig.Verify(d, primary)
}
