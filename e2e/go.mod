module github.com/endsession/endsession/e2e

go 1.26.8

replace github.com/endsession/endsession => ../

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	golang.org/x/oauth2 v0.37.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
