package cookiecodec

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// decodeURL agrees with base64.URLEncoding.Decode on every input: whole
// values, cut anywhere, with a character replaced by one outside the
// alphabet, by padding or by a newline (which the standard decoder skips).
func TestDecodeURLAgreesWithTheStandardDecoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var scratch []byte
	check := func(src []byte) {
		t.Helper()
		want := make([]byte, base64.URLEncoding.DecodedLen(len(src)))
		got := make([]byte, len(want))
		gotS := make([]byte, len(want))
		n1, e1 := base64.URLEncoding.Decode(want, src)
		n2, e2 := decodeURL(got, src, &scratch)
		n3, e3 := decodeURL(gotS, string(src), &scratch)
		for _, g := range []struct {
			n   int
			err error
			out []byte
		}{{n2, e2, got}, {n3, e3, gotS}} {
			if (e1 == nil) != (g.err == nil) || e1 != nil && e1.Error() != g.err.Error() || n1 != g.n || !bytes.Equal(want[:n1], g.out[:g.n]) {
				t.Fatalf("%q: standard %d, %v; decodeURL %d, %v", src, n1, e1, g.n, g.err)
			}
		}
	}
	for size := range 200 {
		raw := make([]byte, size)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		enc := []byte(base64.URLEncoding.EncodeToString(raw))
		for cut := 0; cut <= len(enc); cut++ {
			check(enc[:cut])
		}
		for _, bad := range []byte{'+', '/', '=', '\n', '\r', ' ', 0, 0xff} {
			for range 8 {
				if len(enc) == 0 {
					break
				}
				x := bytes.Clone(enc)
				x[rng.IntN(len(x))] = bad
				check(x)
			}
		}
	}
	// A cookie-sized value.
	raw := make([]byte, 3774)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	check([]byte(base64.URLEncoding.EncodeToString(raw)))
}

func BenchmarkDecodeURL(b *testing.B) {
	raw := make([]byte, 3774)
	src := base64.URLEncoding.EncodeToString(raw)
	dst := make([]byte, base64.URLEncoding.DecodedLen(len(src)))
	var scratch []byte
	b.Run("standard", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.URLEncoding.Decode(dst, []byte(src))
		}
	})
	b.Run("decodeURL", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			decodeURL(dst, src, &scratch)
		}
	})
}
