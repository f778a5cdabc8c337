package cookiecodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
)

// A Receipt says that this Codec verified a value: a keyed hash of the
// value, of its name and of the key pair whose MAC matched. Given back to
// [Codec.DecodeWith] with the same value, it stands for the HMAC: the
// hash costs a third of it, which spares about a third of a 5 KB value's
// decoding. It means nothing to another Codec or process. The zero
// Receipt is none.
//
// The hash is GMAC (AES-GCM with nothing to encrypt but the name and the
// key pair's index) under a key and a nonce that New draws at random and
// that never leave the Codec, and neither do receipts leave the caller's
// memory. GMAC's GHASH is a universal hash: under a random key, two
// different inputs of at most n blocks of 16 bytes have the same hash
// with a probability of at most (n+1)/2^128, and q tries succeed with at
// most q times that: about 2^-116 a try for the largest value a cookie
// store reads (16 chunks). With the key unknown, and no hash ever shown,
// no one can make a value whose hash is that of another, not even of a
// value they hold.
//
// That holds only while GHASH's key cannot be read from timing: receipts
// are on only where the standard library computes AES-GCM with the
// processor's instructions (amd64 with AES-NI and PCLMULQDQ, not turned
// off by GODEBUG, and without the purego tag). Elsewhere DecodeWith is
// Decode.
type Receipt struct {
	sum [16]byte
	key uint16 // the index of the key pair whose MAC matched, plus one
}

// ReceiptsOn reports whether Codecs issue and accept receipts here (see
// [Receipt]); where they do not, DecodeWith is Decode.
func ReceiptsOn() bool { return receiptsOn }

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

// sum returns the hash of prefix (the name and "|"), the key pair's
// index plus one and outer (the value's outer base64, decoded), in
// scratch. The name and the index are what GCM encrypts, and the tag
// covers them with outer.
func (rs *receipts) sum(scratch, prefix []byte, key uint16, outer []byte) [16]byte {
	scratch = append(append(scratch[:0], prefix...), byte(key>>8), byte(key))
	n := len(scratch)
	sealed := rs.gcm.Seal(scratch[n:n], rs.nonce[:], scratch[:n], outer)
	return [16]byte(sealed[len(sealed)-16:])
}

// matches reports, in constant time, whether r is a receipt whose hash
// is sum.
func (r *Receipt) matches(sum [16]byte) bool {
	return r.key != 0 && subtle.ConstantTimeCompare(r.sum[:], sum[:]) == 1
}
