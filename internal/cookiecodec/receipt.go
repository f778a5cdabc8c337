package cookiecodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
)

// A Receipt says that this Codec verified a value: a keyed hash of the
// value and of its name, and which key pair's MAC matched. Given back to
// [Codec.DecodeWith] with the same value, it stands for the HMAC, at a
// third of its cost; it means nothing to another Codec or process. The
// zero Receipt is none.
//
// The hash is GMAC (AES-GCM with nothing to encrypt but the name) under
// a key and a nonce that New draws at random and that never leave the
// Codec, and neither do receipts leave the caller's memory. GMAC's
// GHASH is a universal hash: under a random key, two different values of
// at most n blocks of 16 bytes have the same hash with a probability of
// at most n / 2^128, which for a 4 KB value is below 2^-120. With the
// key unknown, and no hash ever shown, no one can make a value whose
// hash is that of another, not even of a value they hold.
type Receipt struct {
	sum [16]byte
	key uint16 // the index of the key pair whose MAC matched, plus one
}

// Valid reports whether r is a receipt, and not the zero Receipt.
func (r Receipt) Valid() bool { return r.key != 0 }

// receipts hashes verified values with a key of the Codec's own.
type receipts struct {
	gcm   cipher.AEAD
	nonce [12]byte
}

func newReceipts() receipts {
	key := make([]byte, 16)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // 16 bytes is a valid AES key
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // AES has 16-byte blocks
	}
	r := receipts{gcm: gcm}
	rand.Read(r.nonce[:])
	return r
}

// sum returns the hash of prefix (the name and "|") and outer (the
// value's outer base64, decoded), in scratch. The name is the part that
// GCM encrypts, and the tag covers both.
func (rs *receipts) sum(scratch, prefix, outer []byte) [16]byte {
	sealed := rs.gcm.Seal(scratch[:0], rs.nonce[:], prefix, outer)
	return [16]byte(sealed[len(sealed)-16:])
}

// matches reports, in constant time, whether r is the receipt of a value
// whose hash is sum, under the key pair of index key.
func (r *Receipt) matches(sum [16]byte) bool {
	return r.key != 0 && subtle.ConstantTimeCompare(r.sum[:], sum[:]) == 1
}
