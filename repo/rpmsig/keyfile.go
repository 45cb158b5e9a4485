package rpmsig

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// ReadKeys reads the keys of an OpenPGP key file a repository trusts (a
// gpg_keys entry): ASCII-armored, or else binary, as rpm and gpg accept
// them. NewKeyring makes the keyring that verifies packages of them;
// ImportRefusals says which of them rpm 4.18 would not import.
func ReadKeys(data []byte) (openpgp.EntityList, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		if bin, berr := openpgp.ReadKeyRing(bytes.NewReader(data)); berr == nil {
			return bin, nil
		}
		return nil, err
	}
	return el, nil
}

// KeyRefusal is a key of a key file that rpm 4.18's `rpmkeys --import`
// refuses, though bundle reads it (and verifies packages with it).
type KeyRefusal struct {
	// Key is the key's place in the file, from 1, as rpmkeys counts.
	Key int
	// KeyID is the primary key's id, 16 hex digits ("" when unreadable).
	KeyID string
	// Reason says what rpm does not accept.
	Reason string
}

const pubkeyBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

// ImportRefusals lists the keys of an OpenPGP key file (a gpg_keys entry)
// that `rpmkeys --import` of rpm 4.18 would refuse (ImportRefusal):
// such a key cannot be imported where packages are installed with that
// rpm, so gpgcheck fails there. rpmkeys reads each armored public key
// block of the file as one key, and no binary key.
func ImportRefusals(data []byte) []KeyRefusal {
	var out []KeyRefusal
	if !bytes.Contains(data, []byte(pubkeyBegin)) {
		return []KeyRefusal{{Key: 1, KeyID: firstKeyID(openpgp.ReadKeyRing(bytes.NewReader(data))), Reason: "the file is not an ASCII-armored public key, and rpmkeys --import reads only those"}}
	}
	rest := data
	for n := 1; ; n++ {
		i := bytes.Index(rest, []byte(pubkeyBegin))
		if i < 0 {
			return out
		}
		rest = rest[i:]
		next := bytes.Index(rest[len(pubkeyBegin):], []byte(pubkeyBegin))
		block := rest
		if next >= 0 {
			block = rest[:len(pubkeyBegin)+next]
		}
		rest = rest[len(block):]
		// rpm requires the checksum line before the end line.
		if end := bytes.Index(block, []byte("-----END PGP PUBLIC KEY BLOCK-----")); end < 0 || !hasCRCLine(block[:end]) {
			out = append(out, KeyRefusal{Key: n, KeyID: firstKeyID(openpgp.ReadArmoredKeyRing(bytes.NewReader(block))),
				Reason: "the armored block has no checksum line (=XXXX) before its end line, which rpm requires"})
			continue
		}
		blk, err := armor.Decode(bytes.NewReader(block))
		var packets []byte
		if err == nil {
			packets, err = io.ReadAll(blk.Body)
		}
		if err != nil {
			out = append(out, KeyRefusal{Key: n, Reason: fmt.Sprintf("the armor does not decode (%v)", err)})
			continue
		}
		id, err := ImportRefusal(packets)
		if err != nil {
			r := KeyRefusal{Key: n, Reason: err.Error()}
			if id != 0 {
				r.KeyID = fmt.Sprintf("%016x", id)
			} else {
				r.KeyID = firstKeyID(openpgp.ReadKeyRing(bytes.NewReader(packets)))
			}
			out = append(out, r)
		}
	}
}

// hasCRCLine reports whether the last non-empty line of b starts with =.
func hasCRCLine(b []byte) bool {
	lines := bytes.Split(bytes.TrimRight(b, "\r\n \t"), []byte("\n"))
	return len(lines) > 0 && bytes.HasPrefix(bytes.TrimSpace(lines[len(lines)-1]), []byte("="))
}

// firstKeyID is the id of the first key go-crypto read, "" when none.
func firstKeyID(el openpgp.EntityList, err error) string {
	if err != nil || len(el) == 0 || el[0].PrimaryKey == nil {
		return ""
	}
	return fmt.Sprintf("%016x", el[0].PrimaryKey.KeyId)
}
