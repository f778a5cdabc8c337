package session

import (
	"testing"
	"time"
)

// TokenIssued survives the codec, and sessions written in version 1,
// before it was recorded, still decode.
func TestCodecTokenIssuedAndVersion1(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	d := Data{ID: "id", Subject: "u", AccessToken: "a", Expiry: now.Add(time.Minute), TokenIssued: now,
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Data
	if err := got.UnmarshalBinary(b); err != nil || !got.TokenIssued.Equal(now) || !got.Expires.Equal(d.Expires) {
		t.Fatalf("round trip: %v, %+v", err, got)
	}
	// The same session in version 1: no TokenIssued before the device flag.
	d.TokenIssued = time.Time{}
	b, _ = d.MarshalBinary()
	v1 := append([]byte{1}, b[1:len(b)-2]...)
	v1 = append(v1, 0)
	got = Data{}
	if err := got.UnmarshalBinary(v1); err != nil {
		t.Fatalf("version 1 does not decode: %v", err)
	}
	if got.ID != "id" || !got.Expiry.Equal(d.Expiry) || !got.Expires.Equal(d.Expires) || !got.TokenIssued.IsZero() {
		t.Fatalf("version 1 decoded as %+v", got)
	}
	if err := got.UnmarshalBinary(append([]byte{3}, b[1:]...)); err == nil {
		t.Fatal("an unknown version decoded")
	}
}
