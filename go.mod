module github.com/exa-enrich/exa-enrich

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0
	golang.org/x/sync v0.25.0
)

require golang.org/x/text v0.43.0
