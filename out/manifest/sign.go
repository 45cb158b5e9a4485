package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// readKeyRing reads an armored or binary OpenPGP key or keyring.
func readKeyRing(data []byte) (openpgp.EntityList, error) {
	if el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data)); err == nil {
		return el, nil
	}
	return openpgp.ReadKeyRing(bytes.NewReader(data))
}

// CheckPublicKey reports whether key (armored or binary OpenPGP) holds at
// least one key to check signatures with.
func CheckPublicKey(key []byte) error {
	el, err := readKeyRing(key)
	if err != nil {
		return fmt.Errorf("not an OpenPGP key: %w", err)
	}
	if len(el) == 0 {
		return errors.New("it holds no key")
	}
	return nil
}

// SigningKey returns the first secret key of key (armored or binary
// OpenPGP), unlocked with passphrase when it is encrypted. Callers check a
// key with it before doing any work, so a bad key is refused up front.
func SigningKey(key, passphrase []byte) (*openpgp.Entity, error) {
	el, err := readKeyRing(key)
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP key: %w", err)
	}
	var signer *openpgp.Entity
	for _, e := range el {
		if e.PrivateKey != nil {
			signer = e
			break
		}
	}
	if signer == nil {
		return nil, errors.New("it holds no secret key (export it with gpg --export-secret-keys --armor)")
	}
	if signer.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, errors.New("the key is encrypted; give its passphrase in BUNDLE_SIGN_PASSPHRASE")
		}
		if err := signer.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("unlocking the key: %w", err)
		}
	}
	return signer, nil
}

// Sign returns an armored detached OpenPGP signature of data made with the
// first secret key of key (armored or binary), verifiable with
// `gpg --verify bundle.json.sig bundle.json`. The signature time is the
// bundle epoch (or the signing key's creation time, if later), so signing is
// reproducible for deterministic algorithms (RSA, EdDSA).
func Sign(data, key, passphrase []byte, epoch int64) ([]byte, error) {
	sig, _, err := SignDetached(data, key, passphrase, epoch, true)
	if err != nil {
		return nil, fmt.Errorf("signing %s: %w", FileName, err)
	}
	return sig, nil
}

// SignDetached makes a detached OpenPGP signature of data (armored or
// binary) with the first secret key of key, at the bundle epoch (or the
// key's creation time, if later), and returns it with the signing key's
// fingerprint in hex.
func SignDetached(data, key, passphrase []byte, epoch int64, armored bool) ([]byte, string, error) {
	signer, err := SigningKey(key, passphrase)
	if err != nil {
		return nil, "", fmt.Errorf("reading signing key: %w", err)
	}
	when := time.Unix(epoch, 0)
	latest := signer.PrimaryKey.CreationTime
	for _, sk := range signer.Subkeys {
		if sk.PrivateKey != nil && sk.PublicKey.CreationTime.After(latest) {
			latest = sk.PublicKey.CreationTime
		}
	}
	if latest.After(when) {
		when = latest
	}
	var buf bytes.Buffer
	deterministic := false
	cfg := &packet.Config{Time: func() time.Time { return when }, NonDeterministicSignaturesViaNotation: &deterministic}
	sign := openpgp.DetachSign
	if armored {
		sign = openpgp.ArmoredDetachSign
	}
	if err := sign(&buf, signer, bytes.NewReader(data), cfg); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint), nil
}

// CheckSignature verifies an armored (or binary) detached signature of data
// against the keys in keyring and returns the signer's identity.
func CheckSignature(data, sig, keyring []byte, now time.Time) (string, error) {
	el, err := readKeyRing(keyring)
	if err != nil {
		return "", fmt.Errorf("reading key: %w", err)
	}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	signer, err := openpgp.CheckArmoredDetachedSignature(el, bytes.NewReader(data), bytes.NewReader(sig), cfg)
	if err != nil {
		signer, err = openpgp.CheckDetachedSignature(el, bytes.NewReader(data), bytes.NewReader(sig), cfg)
	}
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(signer.Identities))
	for name := range signer.Identities {
		names = append(names, name)
	}
	if len(names) > 0 {
		sort.Strings(names)
		return names[0], nil
	}
	return fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint), nil
}
