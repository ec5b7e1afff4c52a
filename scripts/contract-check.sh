#!/usr/bin/env bash
# scripts/contract-check.sh [--config FILE]: a second, independent check of
# the generated contract documents, with the specifications' own tools
# rather than Go: `lienthong asyncapi` through @asyncapi/parser (AsyncAPI's
# reference parser: spec validation and $ref resolution) and `lienthong
# openapi` through @redocly/cli lint (OpenAPI 3.1 validation and $refs).
# The Go tests (internal/contract) already validate both documents against
# the official JSON Schemas; this catches what those schemas cannot say.
#
# Needs node and npm (installed with apt-get when missing, as root or with
# sudo). The two npm packages, at pinned versions, go into
# $CONTRACT_TOOLS_DIR (default ~/.cache/lienthong-contract-tools), installed
# once, with their install scripts disabled. Exit 0 when both documents pass.
set -euo pipefail
cd "$(dirname "$0")/.."

ASYNCAPI_PARSER_VERSION=3.6.6
REDOCLY_CLI_VERSION=2.77.0
TOOLS="${CONTRACT_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lienthong-contract-tools}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "contract-check: installing nodejs and npm with apt-get" >&2
	SUDO=""
	if [[ $(id -u) -ne 0 ]]; then
		SUDO=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq >/dev/null
	$SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

mkdir -p "$TOOLS"
stamp="$TOOLS/.installed-$ASYNCAPI_PARSER_VERSION-$REDOCLY_CLI_VERSION"
if [[ ! -f $stamp ]]; then
	echo "contract-check: installing @asyncapi/parser@$ASYNCAPI_PARSER_VERSION and @redocly/cli@$REDOCLY_CLI_VERSION into $TOOLS" >&2
	[[ -f $TOOLS/package.json ]] || echo '{"private": true}' >"$TOOLS/package.json"
	npm install --prefix "$TOOLS" --no-audit --no-fund --ignore-scripts --loglevel=error \
		"@asyncapi/parser@$ASYNCAPI_PARSER_VERSION" "@redocly/cli@$REDOCLY_CLI_VERSION" >&2
	touch "$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go run ./cmd/lienthong asyncapi "$@" >"$work/asyncapi.json"
go run ./cmd/lienthong openapi "$@" >"$work/openapi.json"

# The parser's diagnostics: severity 0 is an error, 1 a warning, 2-3 notes.
cat >"$TOOLS/check-asyncapi.mjs" <<'EOF'
import { Parser, fromFile } from '@asyncapi/parser';
const file = process.argv[2];
const { document, diagnostics } = await fromFile(new Parser(), file).parse();
let errors = 0;
for (const d of diagnostics) {
  const level = ['error', 'warning', 'info', 'hint'][d.severity] ?? String(d.severity);
  if (d.severity === 0) errors++;
  console.log(`${level}: ${d.code}: ${d.message} at /${(d.path || []).join('/')}`);
}
if (!document || errors > 0) {
  console.log(`asyncapi: ${file}: ${errors} error(s)`);
  process.exit(1);
}
console.log(`asyncapi: ${file}: valid`);
EOF
echo "== @asyncapi/parser $ASYNCAPI_PARSER_VERSION: lienthong asyncapi"
node "$TOOLS/check-asyncapi.mjs" "$work/asyncapi.json"

# Redocly's recommended rules, less four that do not fit here: no licence
# is declared, not every component is referenced (form schemas are listed
# for integrators), health and metrics have no 4xx answer, and a then/else
# may require a property its parent schema declares (the applicant's
# if/then/else), which the rule does not see. Spec violations and
# unresolved $refs stay errors.
cat >"$work/redocly.yaml" <<'EOF'
extends:
  - recommended
rules:
  info-license: off
  no-unused-components: off
  operation-4xx-response: off
  no-required-schema-properties-undefined: off
EOF
echo "== @redocly/cli $REDOCLY_CLI_VERSION lint: lienthong openapi"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
	"$TOOLS/node_modules/.bin/redocly" lint --config "$work/redocly.yaml" "$work/openapi.json"
echo "contract-check: both documents pass"
