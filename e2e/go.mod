module github.com/endsession/endsession/e2e

go 1.26.8

replace github.com/endsession/endsession => ../

require golang.org/x/oauth2 v0.37.0
