package session

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

func TestChunksAreWholeBase64Quanta(t *testing.T) {
	if chunkSize%4 != 0 {
		t.Fatalf("chunkSize %d is not a multiple of 4: chunks could not be decoded one by one", chunkSize)
	}
}

// The value decoder accepts exactly what securecookie.DecodeMulti
// accepts, and decodes it to the same bytes, for genuine values under
// rotated keys and for values tampered with in every way a fuzzer can
// reach cheaply.
func TestValueDecoderAgreesWithSecurecookie(t *testing.T) {
	keys := []KeyPair{testKey2, testKey1}
	codecs, err := codecsFor(keys)
	if err != nil {
		t.Fatal(err)
	}
	const name = "endsession"
	dec, err := newValueCodec(name, keys)
	if err != nil {
		t.Fatal(err)
	}
	oldCodecs, _ := codecsFor(keys[1:])
	var values []string
	for _, size := range []int{0, 100, 3 << 10, 9 << 10} {
		raw, _ := sampleData(size).MarshalBinary()
		for _, c := range []securecookie.Codec{codecs[0], oldCodecs[0]} {
			v, err := c.Encode(name, raw)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, v)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=|+/ \x00"
	mutate := func(v string) string {
		b := []byte(v)
		switch rng.IntN(4) {
		case 0:
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		case 1:
			b = b[:rng.IntN(len(b))]
		case 2:
			i := rng.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		default:
			i := rng.IntN(len(b) + 1)
			b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
		}
		return string(b)
	}
	check := func(v string) {
		t.Helper()
		var want []byte
		wantErr := securecookie.DecodeMulti(name, v, &want, codecs...)
		var wantData Data
		if wantErr == nil {
			wantErr = wantData.UnmarshalBinary(want)
		}
		var got Data
		_, gotErr := dec.decode(split(v), &got)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("value of %d bytes: decoder says %v, securecookie %v", len(v), gotErr, wantErr)
		}
		if gotErr == nil {
			a, _ := got.MarshalBinary()
			b, _ := wantData.MarshalBinary()
			if string(a) != string(b) {
				t.Fatalf("value of %d bytes decoded differently", len(v))
			}
		}
	}
	for _, v := range values {
		check(v)
		for range 300 {
			check(mutate(v))
		}
	}
	for _, v := range []string{"", "=", "|", "MTIzfHx8", "MTIzfGFiY3w="} {
		check(v)
	}
}

// split cuts v as the cookie store does.
func split(v string) []string {
	var parts []string
	for len(v) > chunkSize {
		parts = append(parts, v[:chunkSize])
		v = v[chunkSize:]
	}
	return append(parts, v)
}

func TestValueDecoderRejectsPaddingInsideTheValue(t *testing.T) {
	codecs, _ := codecsFor([]KeyPair{testKey1})
	dec, _ := newValueCodec("endsession", []KeyPair{testKey1})
	raw, _ := sampleData(4 << 10).MarshalBinary()
	v, err := codecs[0].Encode("endsession", raw)
	if err != nil {
		t.Fatal(err)
	}
	parts := split(v)
	if len(parts) < 2 {
		t.Fatal("want a chunked value")
	}
	var d Data
	if _, err := dec.decode(parts, &d); err != nil {
		t.Fatal(err)
	}
	padded := append([]string{strings.TrimSuffix(parts[0], parts[0][len(parts[0])-4:]) + "AA=="}, parts[1:]...)
	if _, err := dec.decode(padded, &d); err == nil {
		t.Fatal("padding inside the value was accepted")
	}
}

// What the codec writes, securecookie reads, to the same bytes, and it is
// as long as what securecookie writes.
func TestValueCodecWritesSecurecookieFormat(t *testing.T) {
	keys := []KeyPair{testKey2, testKey1}
	codecs, _ := codecsFor(keys)
	codec, err := newValueCodec("endsession", keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 100, 3 << 10, 9 << 10} {
		d := sampleData(size)
		raw, _ := d.MarshalBinary()
		v, err := codec.encode(d)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := securecookie.DecodeMulti("endsession", v, &got, codecs...); err != nil {
			t.Fatalf("securecookie cannot read a value of %d bytes: %v", len(v), err)
		}
		if string(got) != string(raw) {
			t.Fatalf("securecookie read other bytes from a value of %d bytes", len(v))
		}
		if err := securecookie.DecodeMulti("other", v, &got, codecs...); err == nil {
			t.Fatal("a value for one cookie name was read under another")
		}
		want, _ := codecs[0].Encode("endsession", raw)
		if len(v) != len(want) {
			t.Fatalf("value of %d bytes, securecookie writes %d", len(v), len(want))
		}
		var back Data
		if _, err := codec.decode(split(v), &back); err != nil {
			t.Fatal(err)
		}
		if again, _ := codec.encode(d); again == v {
			t.Fatal("two values of the same session are equal: the IV is not random")
		}
	}
}
