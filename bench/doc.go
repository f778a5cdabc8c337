// Package bench measures what endsession costs an application, next to
// what the common alternatives cost for the same session: gorilla/sessions'
// CookieStore and alexedwards/scs with its memory store.
//
// It is a module of its own so that the alternatives never enter
// endsession's own module. Everything is in its tests; run them with
//
//	cd bench && go test -run '^$' -bench . -count 6 | tee new.txt
//	benchstat new.txt
//
// See BENCHMARKS.md at the root of the repository for the numbers and
// what they mean.
package bench
