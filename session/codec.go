package session

import (
	"encoding/binary"
	"errors"
	"time"
)

// The binary form of Data: a version byte, then every field in a fixed
// order, strings as a uvarint length and bytes, times as varint Unix
// seconds (0 for the zero time). It is small, needs no reflection, and
// decodes with a single allocation: every string is a slice of one copy of
// the input. Version 2 added TokenIssued after the other times; version 1
// still decodes, without it.
const codecVersion = 2

var errCorrupt = errors.New("session: corrupt session data")

// MarshalBinary encodes d in the compact form the stores keep.
func (d *Data) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, d.encodedSizeHint()))
}

// AppendBinary appends the encoding of d to b.
func (d *Data) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, codecVersion)
	for _, s := range d.strings() {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, t := range d.times() {
		b = binary.AppendVarint(b, unixOrZero(*t))
	}
	if d.Device == nil {
		return append(b, 0), nil
	}
	b = append(b, 1)
	for _, s := range []string{d.Device.ID, d.Device.Info, d.Device.Requestor, d.Device.MVPD} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

// UnmarshalBinary decodes data written by [Data.MarshalBinary] into d.
func (d *Data) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != codecVersion && data[0] != 1 {
		return errCorrupt
	}
	r := reader{s: string(data[1:])}
	*d = Data{}
	for _, p := range d.stringPtrs() {
		*p = r.string()
	}
	times := d.times()
	n := len(times)
	if data[0] == 1 {
		n-- // no TokenIssued
	}
	for _, t := range times[:n] {
		*t = timeOrZero(r.varint())
	}
	if r.byte() == 1 {
		d.Device = &Device{ID: r.string(), Info: r.string(), Requestor: r.string(), MVPD: r.string()}
	}
	if r.err || r.s != "" {
		*d = Data{}
		return errCorrupt
	}
	return nil
}

func (d *Data) strings() [12]string {
	return [12]string{d.ID, d.Provider, d.Issuer, d.Subject, d.SID, d.Email, d.Name,
		d.IDToken, d.AccessToken, d.TokenType, d.RefreshToken, d.ExtraClaimsJSON}
}

func (d *Data) stringPtrs() [12]*string {
	return [12]*string{&d.ID, &d.Provider, &d.Issuer, &d.Subject, &d.SID, &d.Email, &d.Name,
		&d.IDToken, &d.AccessToken, &d.TokenType, &d.RefreshToken, &d.ExtraClaimsJSON}
}

func (d *Data) times() [6]*time.Time {
	return [6]*time.Time{&d.IDTokenExpiry, &d.Expiry, &d.Created, &d.LastSeen, &d.Expires, &d.TokenIssued}
}

func (d *Data) encodedSizeHint() int {
	n := 64
	for _, s := range d.strings() {
		n += len(s) + binary.MaxVarintLen16
	}
	if d.Device != nil {
		n += len(d.Device.ID) + len(d.Device.Info) + len(d.Device.Requestor) + len(d.Device.MVPD) + 16
	}
	return n
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// reader consumes a string; any overrun sets err and yields zero values.
type reader struct {
	s   string
	err bool
}

func (r *reader) uvarint() uint64 {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if len(r.s) == 0 {
			r.err = true
			return 0
		}
		c := r.s[0]
		r.s = r.s[1:]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	r.err = true
	return 0
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err || n > uint64(len(r.s)) {
		r.err = true
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *reader) byte() byte {
	if len(r.s) == 0 {
		r.err = true
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}
