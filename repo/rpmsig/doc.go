// Package rpmsig reads and verifies the OpenPGP signature packets RPM
// signature headers carry: version 3 packets (RFC 4880 §5.2.2, what rpm
// wrote until 4.14 and what every CentOS, EPEL and Mesosphere package of
// that era carries) and version 4 packets, RSA (PKCS#1 v1.5) and DSA, with
// the public keys ProtonMail/go-crypto reads from armored key files
// (primary keys and subkeys). go-crypto refuses version 3 signature
// packets, so the packet is parsed here; it has a handful of fixed fields.
// Other V4 algorithms (ECDSA, EdDSA) are verified through go-crypto.
//
// Key files are read here too, the one place bundle reads the keys a
// repository trusts: ReadKeys reads a key file (armored or binary),
// NewKeyring indexes its keys and subkeys by key id for verification, and
// ImportRefusal and ImportRefusals tell whether rpm 4.18's key import
// would refuse a public key, or which keys of a key file, following the
// rules of rpm's own OpenPGP parser.
package rpmsig
