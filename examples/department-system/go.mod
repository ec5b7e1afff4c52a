// The example department system is its own module, built and tested as an
// integrator's would be (make test-example). The replace points it at this
// checkout; an integrator drops it and requires a released version.
module github.com/lienthong/lienthong/examples/department-system

go 1.26.8

require github.com/lienthong/lienthong v0.0.0-00010101000000-000000000000

require (
	github.com/evanphx/json-patch/v5 v5.9.11 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/santhosh-tekuri/jsonschema/v5 v5.3.1 // indirect
	github.com/standard-webhooks/standard-webhooks/libraries v0.0.1 // indirect
)

replace github.com/lienthong/lienthong => ../..
