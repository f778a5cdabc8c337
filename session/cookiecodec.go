package session

import (
	"github.com/endsession/endsession/internal/cookiecodec"
)

// valueCodec writes and reads the cookie store's values: the session's
// binary form in securecookie's format (HMAC-SHA256 and AES-CTR, no MaxAge:
// Data.Expires, inside the value, bounds its age), in reused buffers, the
// chunks decoded one by one instead of joined.
type valueCodec struct {
	name  string
	codec *cookiecodec.Codec
}

func newValueCodec(name string, keys []KeyPair) (*valueCodec, error) {
	pairs := make([]cookiecodec.KeyPair, len(keys))
	for i, k := range keys {
		pairs[i] = cookiecodec.KeyPair{HashKey: k.HashKey, BlockKey: k.BlockKey}
	}
	c, err := cookiecodec.New(pairs, 0, 0) // chunking caps the size
	if err != nil {
		return nil, err
	}
	return &valueCodec{name: name, codec: c}, nil
}

// encode returns d's value.
func (v *valueCodec) encode(d *Data) (string, error) {
	return v.codec.Encode(v.name, d.AppendBinary)
}

// decode verifies and decrypts the value made of parts, and decodes it
// into d. It returns the size of the session's binary form.
func (v *valueCodec) decode(parts []string, d *Data) (rawSize int, err error) {
	err = v.codec.Decode(v.name, parts, func(plain []byte) error {
		rawSize = len(plain)
		return d.UnmarshalBinary(plain) // copies what it keeps
	})
	return rawSize, err
}
