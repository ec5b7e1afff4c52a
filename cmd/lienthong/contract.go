package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lienthong/lienthong/internal/contract"
)

func init() {
	register("asyncapi", "[--config FILE]: print the AsyncAPI 3.0 document of the Kafka topics and messages", cmdAsyncAPI)
	register("openapi", "[--config FILE]: print the OpenAPI 3.1 document of the HTTP API (as GET /v1/openapi.json serves it)", cmdOpenAPI)
}

// cmdAsyncAPI prints the AsyncAPI document of the config's bus: its topic
// prefix, partitions, brokers, agencies and procedures, and every message
// with its schemas (the embedded ones and the config's form schemas).
func cmdAsyncAPI(args []string, stdout, stderr io.Writer) int {
	return printContract("asyncapi", args, stdout, stderr, func(cfgPath string) ([]byte, error) {
		cfg, _, err := loadConfig(cfgPath, stderr)
		if err != nil {
			return nil, err
		}
		return contract.AsyncAPI(cfg, nil)
	})
}

// cmdOpenAPI prints the OpenAPI document; --config matters for its form
// schemas (forms_dir).
func cmdOpenAPI(args []string, stdout, stderr io.Writer) int {
	return printContract("openapi", args, stdout, stderr, func(cfgPath string) ([]byte, error) {
		cfg, _, err := loadConfig(cfgPath, stderr)
		if err != nil {
			return nil, err
		}
		return contract.OpenAPI(cfg.Schemas())
	})
}

func printContract(name string, args []string, stdout, stderr io.Writer, gen func(cfgPath string) ([]byte, error)) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (default: the built-in example config)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: lienthong %s [--config FILE]\n", name)
		return 2
	}
	doc, err := gen(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
		return 1
	}
	_, _ = stdout.Write(doc)
	return 0
}
