module github.com/endsession/endsession/example/routers

go 1.26.0

require (
	github.com/endsession/endsession v0.0.0
	github.com/go-chi/chi/v5 v5.5.0
	github.com/gorilla/mux v1.8.1
)

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/gorilla/sessions v1.4.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
)

replace github.com/endsession/endsession => ../..
