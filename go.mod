module github.com/exa-enrich/exa-enrich

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	github.com/cenkalti/backoff/v5 v5.0.3
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/tmaxmax/go-sse v0.12.0
	golang.org/x/sync v0.25.0
	golang.org/x/time v0.16.0
)

require golang.org/x/text v0.14.0 // indirect
