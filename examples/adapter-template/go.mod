// The example adapter is its own module, built and tested as an
// integrator's would be (make test-example). The replace points it at this
// checkout; an integrator drops it and requires a released version.
module github.com/lienthong/lienthong/examples/adapter-template

go 1.26.8

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/lienthong/lienthong v0.0.0-00010101000000-000000000000
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/segmentio/kafka-go v0.4.51 // indirect
	github.com/twmb/franz-go v1.22.3 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.1 // indirect
)

replace github.com/lienthong/lienthong => ../..
