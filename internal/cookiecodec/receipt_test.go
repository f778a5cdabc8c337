package cookiecodec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// macsComputed counts the HMACs that c's Decode computes during f.
func macsComputed(t *testing.T, f func()) int {
	t.Helper()
	n := 0
	testHookVerify = func() { n++ }
	defer func() { testHookVerify = nil }()
	f()
	return n
}

// decodeWith returns what DecodeWith gives for value, copied.
func decodeWith(c *Codec, name, value string, r *Receipt) ([]byte, error) {
	var out []byte
	err := c.DecodeWith(name, []string{value}, r, func(p []byte) error { out = append([]byte(nil), p...); return nil })
	return out, err
}

func encoded(t *testing.T, c *Codec, name string, plain []byte) string {
	t.Helper()
	v, err := c.Encode(name, raw(plain))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A value decoded once with an empty receipt gets one; decoded again with
// it, the value is not authenticated by its HMAC again, and decodes the
// same, under every key pair (the receipt keeps the pair that matched).
func TestReceiptSkipsTheMACOfAValueVerifiedBefore(t *testing.T) {
	old := must(New([]KeyPair{pairA}, 0, 0))
	c := must(New([]KeyPair{pairB, pairA, pairC}, 0, 0))
	signedOnly := must(New([]KeyPair{pairC}, 0, 0))
	plain := []byte("the session, in its binary form")
	for name, value := range map[string]string{
		"newest pair":  encoded(t, c, "s", plain),
		"older pair":   encoded(t, old, "s", plain),
		"no block key": encoded(t, signedOnly, "s", plain),
	} {
		var r Receipt
		if n := macsComputed(t, func() {
			if got, err := decodeWith(c, "s", value, &r); err != nil || string(got) != string(plain) {
				t.Fatalf("%s: first DecodeWith = %q, %v", name, got, err)
			}
		}); n == 0 {
			t.Fatalf("%s: the first decode computed no MAC", name)
		}
		if !receiptsOn {
			if r.Valid() {
				t.Fatalf("%s: a receipt where receipts are off", name)
			}
			continue
		}
		if !r.Valid() {
			t.Fatalf("%s: no receipt after the value verified", name)
		}
		issued := r
		if n := macsComputed(t, func() {
			if got, err := decodeWith(c, "s", value, &r); err != nil || string(got) != string(plain) {
				t.Fatalf("%s: DecodeWith with its receipt = %q, %v", name, got, err)
			}
		}); n != 0 {
			t.Fatalf("%s: with its receipt, the value's MAC was computed %d times", name, n)
		}
		if r != issued {
			t.Fatalf("%s: the receipt changed", name)
		}
	}
}

// A receipt covers one value of one name in one Codec: a value changed
// by a single bit (AES-CTR lets an attacker flip the plaintext's bits
// through the ciphertext's), the same value under another name, and a
// receipt from another Codec with the same keys all go back to the HMAC,
// which refuses what it must.
func TestReceiptCoversOnlyItsValue(t *testing.T) {
	if !receiptsOn {
		t.Skip("receipts are off on this processor or build; TestReceiptSkipsTheMACOfAValueVerifiedBefore checks that no receipt is issued")
	}
	c := must(New([]KeyPair{pairA, pairB}, 0, 0))
	plain := []byte(`{"sub":"jane","role":"customer"}`)
	value := encoded(t, c, "s", plain)
	var r Receipt
	if _, err := decodeWith(c, "s", value, &r); err != nil || !r.Valid() {
		t.Fatalf("DecodeWith = %v, receipt %v", err, r.Valid())
	}
	issued := r

	// Flip one bit of the ciphertext, inside the value, keeping the
	// base64 of both layers valid.
	outer := must(base64.URLEncoding.DecodeString(value))
	date, rest, _ := bytes.Cut(outer, []byte("|"))
	inner, mac, _ := bytes.Cut(rest, []byte("|"))
	ct := must(base64.URLEncoding.DecodeString(string(inner)))
	ct[len(ct)-3] ^= 0x01
	tampered := base64.URLEncoding.EncodeToString(bytes.Join([][]byte{date, []byte(base64.URLEncoding.EncodeToString(ct)), mac}, []byte("|")))
	for _, tc := range []struct {
		what  string
		c     *Codec
		name  string
		value string
		want  error
	}{
		{"a bit flipped in the ciphertext", c, "s", tampered, ErrMAC},
		{"another name", c, "t", value, ErrMAC},
		{"another Codec with the same keys", must(New([]KeyPair{pairA, pairB}, 0, 0)), "s", value, nil},
		{"the receipt's key pair changed", c, "s", value, nil},
	} {
		r := issued
		if tc.what == "the receipt's key pair changed" {
			r.key = 2
			issued = r
		}
		n := macsComputed(t, func() {
			got, err := decodeWith(tc.c, tc.name, tc.value, &r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: DecodeWith = %q, %v, want %v", tc.what, got, err, tc.want)
			}
		})
		if n == 0 {
			t.Fatalf("%s: decoded on the receipt of another value", tc.what)
		}
		if tc.want != nil && r != issued {
			t.Fatalf("%s: a value that did not verify changed the receipt", tc.what)
		}
		if tc.want == nil && r == issued {
			t.Fatalf("%s: the value verified, the receipt stayed another Codec's", tc.what)
		}
	}
}

// A receipt does not outlive the value's age limit.
func TestReceiptKeepsTheAgeLimit(t *testing.T) {
	if !receiptsOn {
		t.Skip("receipts are off on this processor or build")
	}
	c := must(New([]KeyPair{pairC}, 10*time.Minute, 0))
	value := sealedAt(pairC, "s", []byte("x"), time.Now().Add(-9*time.Minute))
	var r Receipt
	if _, err := decodeWith(c, "s", value, &r); err != nil || !r.Valid() {
		t.Fatalf("DecodeWith = %v, receipt %v", err, r.Valid())
	}
	c.maxAge = 5 * 60
	if _, err := decodeWith(c, "s", value, &r); !errors.Is(err, ErrExpired) {
		t.Fatalf("an expired value with its receipt: %v, want ErrExpired", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A session's value of about 5 KB, decoded with its HMAC and with its
// receipt.
func BenchmarkDecodeSession(b *testing.B) {
	c := must(New([]KeyPair{pairA}, 0, 0))
	v, err := c.Encode("endsession", raw(bytes.Repeat([]byte("s"), 2900)))
	if err != nil {
		b.Fatal(err)
	}
	parts := []string{v}
	nop := func([]byte) error { return nil }
	b.Run("mac", func(b *testing.B) {
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			if err := c.Decode("endsession", parts, nop); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("receipt", func(b *testing.B) {
		var r Receipt
		c.DecodeWith("endsession", parts, &r, nop)
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			if err := c.DecodeWith("endsession", parts, &r, nop); err != nil {
				b.Fatal(err)
			}
		}
	})
}
