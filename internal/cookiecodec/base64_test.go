package cookiecodec

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// withEachPath runs f with the vector path, where the processor has it,
// and with the table lookups alone.
func withEachPath(t *testing.T, f func(t *testing.T)) {
	vector := useAVX2
	t.Cleanup(func() { useAVX2 = vector })
	if vector {
		t.Run("vector", f)
	} else {
		t.Log("no vector path (this processor, purego, or GODEBUG=cpu.avx2=off): the table path alone is tested")
	}
	useAVX2 = false
	t.Run("tables", f)
}

// checkDecodeURL fails t unless decodeURL, of src as a string and as
// bytes, gives what base64.URLEncoding.Decode gives: the same bytes, the
// same count, the same error.
func checkDecodeURL(t *testing.T, src []byte) {
	t.Helper()
	var scratch []byte
	want := make([]byte, base64.URLEncoding.DecodedLen(len(src)))
	got := make([]byte, len(want))
	gotS := make([]byte, len(want))
	n1, e1 := base64.URLEncoding.Decode(want, src)
	n2, e2 := decodeURLBytes(got, src, &scratch)
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

// decodeURL agrees with base64.URLEncoding.Decode on every input: whole
// values, cut anywhere, with a character replaced by one outside the
// alphabet, by padding or by a newline (which the standard decoder skips).
func TestDecodeURLAgreesWithTheStandardDecoder(t *testing.T) {
	withEachPath(t, testDecodeURLAgrees)
}

func testDecodeURLAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(src []byte) { t.Helper(); checkDecodeURL(t, src) }
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

// Every byte value, at every place of a block of 32 characters, is read
// as the standard decoder reads it: the alphabet's 64 decode, and the
// other 192 (the standard alphabet's '+' and '/', padding, newlines,
// bytes from 0x80) stop the fast paths there.
func TestDecodeURLReadsEveryByteAtEveryPlace(t *testing.T) {
	withEachPath(t, func(t *testing.T) {
		raw := make([]byte, 300)
		for i := range raw {
			raw[i] = byte(i * 7)
		}
		enc := []byte(base64.URLEncoding.EncodeToString(raw))
		for c := range 256 {
			for place := range 64 {
				x := bytes.Clone(enc)
				x[32+place] = byte(c)
				checkDecodeURL(t, x)
			}
		}
	})
}

// FuzzDecodeURL: any input, decoded by either path, gives the standard
// decoder's result.
func FuzzDecodeURL(f *testing.F) {
	f.Add([]byte(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte("endsession"), 20))))
	f.Add([]byte("AAAA"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkDecodeURL(t, src)
		if useAVX2 {
			useAVX2 = false
			defer func() { useAVX2 = true }()
			checkDecodeURL(t, src)
		}
	})
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
	vector := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = vector }()
	b.Run("decodeURL-tables", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			decodeURL(dst, src, &scratch)
		}
	})
}
