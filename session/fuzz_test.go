package session

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCookieStoreLoad sends arbitrary Cookie headers to Load, seeded with
// real chunked sessions, each verified twice first so that mutations of
// values start next to values in the verified-cookie cache: it never
// panics, answers a session, no session, or ErrInvalid, and a session
// only if it is one that was saved.
func FuzzCookieStoreLoad(f *testing.F) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey2, testKey1}, Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	// Session ID to ID token, the same in every process of the fuzzer
	// (the seeds' values are made in one, and read in others).
	genuine := map[string]string{}
	for _, size := range []int{10, 5 << 10, 12 << 10} {
		rec := httptest.NewRecorder()
		d := sampleData(size)
		d.ID = "FUZZSESSION" + strconv.Itoa(size)
		if err := s.Save(rec, httptest.NewRequest("GET", "/", nil), d); err != nil {
			f.Fatal(err)
		}
		genuine[d.ID] = d.IDToken
		var parts []string
		for _, c := range rec.Result().Cookies() {
			parts = append(parts, c.Name+"="+c.Value)
		}
		header := strings.Join(parts, "; ")
		// Verified twice, so that the cache holds the values that
		// mutations start from.
		for range 2 {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", header)
			if d, err := s.Load(r); d == nil || err != nil {
				f.Fatalf("Load of a saved session: %v", err)
			}
		}
		f.Add(header)
		f.Add(strings.Join(parts[1:], "; "))
	}
	f.Add("endsession=; endsession.1=x")
	f.Add("endsession=\xff\xfe; endsession.15=a; endsession.01=b")
	f.Add(`endsession="abc"; other=1`)
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		d, err := s.Load(r)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Load(%q) = %v, want nil or ErrInvalid", header, err)
		}
		if err != nil && d != nil {
			t.Fatalf("Load(%q) returned a session with an error", header)
		}
		if d == nil {
			return
		}
		if token, saved := genuine[d.ID]; !saved || token != d.IDToken {
			t.Fatalf("Load(%q) returned a session that was never saved", header)
		}
	})
}

// FuzzUnmarshalBinary decodes arbitrary bytes as a session: it never
// panics, and what it accepts encodes and decodes again to the same data.
func FuzzUnmarshalBinary(f *testing.F) {
	d := sampleData(100)
	d.Device = &Device{ID: "dev", Info: `{"model":"tv"}`}
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Add(b[:len(b)/2])
	b, _ = sampleData(0).MarshalBinary()
	f.Add(b)
	f.Add([]byte{codecVersion})
	f.Add([]byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Data
		if err := d.UnmarshalBinary(data); err != nil {
			if !reflect.DeepEqual(d, Data{}) {
				t.Fatalf("a failed decode left data behind: %+v", d)
			}
			return
		}
		again, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d2 Data
		if err := d2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded data does not decode: %v", err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the data:\n%+v\n%+v", d, d2)
		}
	})
}
