// Package routers shows, as runnable examples and tests, how endsession
// mounts on the routers Go applications use: net/http's ServeMux, chi and
// gorilla/mux. It is a module of its own so that the core module does not
// depend on any router.
//
// The examples import the middleware package as endsession, since chi has
// a package named middleware too.
package routers
