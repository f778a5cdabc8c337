package cookiecodec

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

var (
	pairA = KeyPair{HashKey: bytes.Repeat([]byte("h"), 32), BlockKey: bytes.Repeat([]byte("b"), 32)}
	pairB = KeyPair{HashKey: bytes.Repeat([]byte("H"), 32), BlockKey: bytes.Repeat([]byte("B"), 16)}
	// pairC has no block key: values are signed, not encrypted.
	pairC = KeyPair{HashKey: bytes.Repeat([]byte("s"), 32)}
)

// reference returns securecookie codecs with the same settings, carrying
// raw bytes.
func reference(keys []KeyPair, maxAge time.Duration, maxLength int) []securecookie.Codec {
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		c := securecookie.New(k.HashKey, k.BlockKey)
		c.SetSerializer(securecookie.NopEncoder{})
		c.MaxAge(int(maxAge / time.Second))
		c.MaxLength(maxLength)
		codecs[i] = c
	}
	return codecs
}

func raw(b []byte) func([]byte) ([]byte, error) {
	return func(dst []byte) ([]byte, error) { return append(dst, b...), nil }
}

// decode returns what Decode gives for value, copied.
func decode(c *Codec, name, value string) ([]byte, error) {
	var out []byte
	err := c.Decode(name, []string{value}, func(p []byte) error { out = append([]byte(nil), p...); return nil })
	return out, err
}

// The codec and securecookie read each other's values, and agree on what
// to accept among genuine values under rotated keys, with and without a
// block key, and values tampered with in every way a fuzzer reaches
// cheaply.
func TestCodecAgreesWithSecurecookie(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys      []KeyPair
		maxAge    time.Duration
		maxLength int
	}{
		{"encrypted, rotated", []KeyPair{pairB, pairA}, 0, 0},
		{"signed only", []KeyPair{pairC, pairA}, 10 * time.Minute, 4096},
		{"state cookies", []KeyPair{pairA}, 10 * time.Minute, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.keys, tc.maxAge, tc.maxLength)
			if err != nil {
				t.Fatal(err)
			}
			ref := reference(tc.keys, tc.maxAge, tc.maxLength)
			writers := ref[:1]
			if len(tc.keys) > 1 {
				writers = append(writers, reference(tc.keys[1:], tc.maxAge, tc.maxLength)[0])
			}
			rng := rand.New(rand.NewPCG(7, 8))
			var values []string
			// Neither reads an encrypted empty value: securecookie needs more
			// than an IV to decrypt.
			for _, size := range []int{1, 200, 2000, 2900} {
				plain := make([]byte, size)
				for i := range plain {
					plain[i] = byte(rng.IntN(256))
				}
				v, err := c.Encode("cookie", raw(plain))
				if tc.maxLength != 0 && len(v) == 0 {
					if !errors.Is(err, ErrTooLong) {
						t.Fatalf("a value over MaxLength: %v", err)
					}
					if _, err := ref[0].Encode("cookie", bytes.Clone(plain)); err == nil {
						t.Fatal("securecookie encodes what the codec finds too long")
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				var got []byte
				if err := securecookie.DecodeMulti("cookie", v, &got, ref...); err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("securecookie reads %d of %d bytes from the codec's value: %v", len(got), size, err)
				}
				if err := securecookie.DecodeMulti("other", v, &got, ref...); err == nil {
					t.Fatal("securecookie read a value under another cookie name")
				}
				for _, w := range writers {
					// securecookie encrypts its argument in place.
					sv, err := w.Encode("cookie", bytes.Clone(plain))
					if err != nil {
						t.Fatal(err)
					}
					if got, err := decode(c, "cookie", sv); err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("the codec reads %d of %d bytes from securecookie's value: %v", len(got), size, err)
					}
					values = append(values, sv)
				}
				values = append(values, v)
			}
			const alphabet = "ABCabc0189-_=|+/ \x00"
			for _, v := range values {
				for range 200 {
					b := []byte(v)
					switch i := rng.IntN(len(b)); rng.IntN(3) {
					case 0:
						b[i] = alphabet[rng.IntN(len(alphabet))]
					case 1:
						b = b[:i]
					default:
						b = append(b[:i], b[i+1:]...)
					}
					m := string(b)
					var want []byte
					wantErr := securecookie.DecodeMulti("cookie", m, &want, ref...)
					got, gotErr := decode(c, "cookie", m)
					if (gotErr == nil) != (wantErr == nil) || gotErr == nil && !bytes.Equal(got, want) {
						t.Fatalf("a tampered value: codec %v, securecookie %v", gotErr, wantErr)
					}
				}
			}
		})
	}
}

// sealedAt builds a value signed (not encrypted) with pair at the given
// time, as securecookie would have then.
func sealedAt(pair KeyPair, name string, plain []byte, at time.Time) string {
	b := []byte(name + "|" + strconv.FormatInt(at.Unix(), 10) + "|" + base64.URLEncoding.EncodeToString(plain))
	mac := hmac.New(sha256.New, pair.HashKey)
	mac.Write(b)
	b = append(append(b, '|'), mac.Sum(nil)...)
	return base64.URLEncoding.EncodeToString(b[len(name)+1:])
}

func TestCodecMaxAge(t *testing.T) {
	c, err := New([]KeyPair{pairC}, 10*time.Minute, 4096)
	if err != nil {
		t.Fatal(err)
	}
	ref := reference([]KeyPair{pairC}, 10*time.Minute, 4096)
	for _, tc := range []struct {
		age  time.Duration
		want error
	}{{time.Minute, nil}, {9 * time.Minute, nil}, {11 * time.Minute, ErrExpired}, {-time.Hour, nil}} {
		v := sealedAt(pairC, "state", []byte(`{"s":"x"}`), time.Now().Add(-tc.age))
		_, err := decode(c, "state", v)
		var got []byte
		refErr := securecookie.DecodeMulti("state", v, &got, ref...)
		if !errors.Is(err, tc.want) || (err == nil) != (refErr == nil) {
			t.Errorf("a value %v old: %v (securecookie: %v), want %v", tc.age, err, refErr, tc.want)
		}
	}
}

func TestNewChecksKeys(t *testing.T) {
	if _, err := New(nil, 0, 0); err == nil {
		t.Error("no key pairs accepted")
	}
	if _, err := New([]KeyPair{{BlockKey: pairA.BlockKey}}, 0, 0); err == nil {
		t.Error("a key pair without a hash key accepted")
	}
	if _, err := New([]KeyPair{{HashKey: pairA.HashKey, BlockKey: []byte("short")}}, 0, 0); err == nil {
		t.Error("a 5-byte block key accepted")
	}
}

func BenchmarkDecodeState(b *testing.B) {
	c, _ := New([]KeyPair{pairA}, 10*time.Minute, 4096)
	v, _ := c.Encode("endsession_flow_ABC", raw(bytes.Repeat([]byte("x"), 200)))
	parts := []string{v}
	b.ReportAllocs()
	for b.Loop() {
		c.Decode("endsession_flow_ABC", parts, func([]byte) error { return nil })
	}
}

func BenchmarkDecodeStateSecurecookie(b *testing.B) {
	ref := reference([]KeyPair{pairA}, 10*time.Minute, 4096)
	v, _ := ref[0].Encode("endsession_flow_ABC", bytes.Repeat([]byte("x"), 200))
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		securecookie.DecodeMulti("endsession_flow_ABC", v, &out, ref...)
	}
}

func TestCodecMaxLength(t *testing.T) {
	c, err := New([]KeyPair{pairA}, 0, 4096)
	if err != nil {
		t.Fatal(err)
	}
	long := reference([]KeyPair{pairA}, 0, 0)[0]
	for _, size := range []int{2000, 3000} {
		v, err := long.Encode("state", bytes.Repeat([]byte("x"), size))
		if err != nil {
			t.Fatal(err)
		}
		_, err = decode(c, "state", v)
		var got []byte
		refErr := securecookie.DecodeMulti("state", v, &got, reference([]KeyPair{pairA}, 0, 4096)...)
		if (len(v) > 4096) != errors.Is(err, ErrTooLong) || (err == nil) != (refErr == nil) {
			t.Errorf("a %d-byte value: %v (securecookie: %v)", len(v), err, refErr)
		}
	}
}
