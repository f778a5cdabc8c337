module github.com/endsession/endsession/bench

go 1.26.0

replace github.com/endsession/endsession => ../

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/endsession/endsession v0.0.0
	github.com/endsession/endsession/redisstore v0.0.0
	github.com/go-jose/go-jose/v4 v4.1.4
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/oauth2 v0.37.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/endsession/endsession/redisstore => ../redisstore
