// Package seal encrypts the secrets the store keeps at rest: local
// passwords and token seeds.
//
// A sealed value is
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM ciphertext and tag
//
// The caller's additional data, prefixed with the version byte, is
// authenticated but not stored. The store passes the row a value belongs to
// ("password:alice", "token:SERIAL"), so a sealed value copied into another
// row, or another column, fails to open.
//
// Nonces are random. With 96-bit random nonces a key may seal about 2^32
// values before the chance of a repeated nonce reaches 2^-32 (NIST SP
// 800-38D, section 8.3); a store writes a value when a password is set or a
// token is imported, so the limit is never near.
//
// The key is 32 random bytes in a file of its own, created by
// [LoadOrCreateKey] with mode 0600 and refused when group or others can read
// it. Whoever holds the key file and a copy of the database holds every
// sealed secret; back them up separately.
package seal
