module github.com/endsession/endsession

go 1.26.8
