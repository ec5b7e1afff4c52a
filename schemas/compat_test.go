package schemas

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// compatCase is one OLD/NEW pair. want lists the expected breaks as
// "KIND schema-pointer instance-pointer"; empty means compatible.
type compatCase struct {
	name     string
	old, new string
	want     []string
}

var compatCases = []compatCase{
	// Identity and trivial schemas.
	{name: "same schema", old: `{"type":"string"}`, new: `{"type":"string"}`},
	{name: "true to empty", old: `true`, new: `{}`},
	{name: "anything narrowed to false", old: `{}`, new: `false`, want: []string{"NOTHING_ACCEPTED / /"}},
	{name: "false widened", old: `false`, new: `{"type":"string"}`},
	{name: "annotations only change", old: `{"type":"string","title":"a","description":"x"}`, new: `{"type":"string","title":"b","examples":["y"],"default":"z"}`},

	// type.
	{name: "type widened", old: `{"type":"string"}`, new: `{"type":["string","null"]}`},
	{name: "type narrowed", old: `{"type":["string","null"]}`, new: `{"type":"string"}`, want: []string{"TYPE_NARROWED /type /"}},
	{name: "type changed", old: `{"type":"string"}`, new: `{"type":"integer"}`, want: []string{"TYPE_NARROWED /type /"}},
	{name: "integer to number widened", old: `{"type":"integer"}`, new: `{"type":"number"}`},
	{name: "number to integer narrowed", old: `{"type":"number"}`, new: `{"type":"integer"}`, want: []string{"TYPE_NARROWED /type /"}},
	{name: "type added", old: `{}`, new: `{"type":"object"}`, want: []string{"TYPE_ADDED /type /"}},
	{name: "type removed", old: `{"type":"object"}`, new: `{}`},

	// enum and const.
	{name: "enum widened", old: `{"enum":["a","b"]}`, new: `{"enum":["a","b","c"]}`},
	{name: "enum narrowed", old: `{"enum":["a","b","c"]}`, new: `{"enum":["a","b"]}`, want: []string{"ENUM_ARRAY_NARROWED /enum /"}},
	{name: "enum to type that holds it", old: `{"enum":["a","bb"]}`, new: `{"type":"string","maxLength":2}`},
	{name: "enum to tighter maxLength", old: `{"enum":["a","bbb"]}`, new: `{"type":"string","maxLength":2}`, want: []string{"MAX_LENGTH_NARROWED /maxLength /"}},
	{name: "enum added", old: `{"type":"string"}`, new: `{"type":"string","enum":["a"]}`, want: []string{"ENUM_ADDED /enum /"}},
	{name: "const to enum", old: `{"const":"a"}`, new: `{"enum":["a","b"]}`},
	{name: "const changed", old: `{"const":"a"}`, new: `{"const":"b"}`, want: []string{"CONST_CHANGED /const /"}},
	{name: "const added", old: `{"type":"string"}`, new: `{"const":"a"}`, want: []string{"CONST_ADDED /const /"}},
	{name: "numbers equal by value", old: `{"enum":[1.0, 2]}`, new: `{"enum":[1, 2.0]}`},
	{name: "boolean type to enum", old: `{"type":"boolean"}`, new: `{"enum":[true,false]}`},
	{name: "boolean type to narrower enum", old: `{"type":"boolean"}`, new: `{"enum":[true]}`, want: []string{"ENUM_ARRAY_NARROWED /enum /"}},

	// string bounds, pattern, format.
	{name: "maxLength increased", old: `{"type":"string","maxLength":10}`, new: `{"type":"string","maxLength":20}`},
	{name: "maxLength decreased", old: `{"type":"string","maxLength":20}`, new: `{"type":"string","maxLength":10}`, want: []string{"MAX_LENGTH_DECREASED /maxLength /"}},
	{name: "maxLength added", old: `{"type":"string"}`, new: `{"type":"string","maxLength":10}`, want: []string{"MAX_LENGTH_ADDED /maxLength /"}},
	{name: "maxLength removed", old: `{"type":"string","maxLength":10}`, new: `{"type":"string"}`},
	{name: "minLength increased", old: `{"type":"string","minLength":1}`, new: `{"type":"string","minLength":2}`, want: []string{"MIN_LENGTH_INCREASED /minLength /"}},
	{name: "minLength decreased", old: `{"type":"string","minLength":2}`, new: `{"type":"string","minLength":1}`},
	{name: "minLength 0 added", old: `{"type":"string"}`, new: `{"type":"string","minLength":0}`},
	{name: "string keywords on numbers", old: `{"type":"integer"}`, new: `{"type":"integer","maxLength":3,"pattern":"x"}`},
	{name: "pattern unchanged", old: `{"type":"string","pattern":"^[0-9]{12}$"}`, new: `{"type":"string","pattern":"^[0-9]{12}$"}`},
	{name: "pattern changed", old: `{"type":"string","pattern":"^[0-9]{12}$"}`, new: `{"type":"string","pattern":"^[0-9]{9}$"}`, want: []string{"PATTERN_CHANGED /pattern /"}},
	{name: "pattern added", old: `{"type":"string"}`, new: `{"type":"string","pattern":"^a"}`, want: []string{"PATTERN_ADDED /pattern /"}},
	{name: "pattern removed", old: `{"type":"string","pattern":"^a"}`, new: `{"type":"string"}`},
	{name: "format added", old: `{"type":"string"}`, new: `{"type":"string","format":"date-time"}`, want: []string{"FORMAT_ADDED /format /"}},
	{name: "format changed", old: `{"type":"string","format":"date"}`, new: `{"type":"string","format":"date-time"}`, want: []string{"FORMAT_CHANGED /format /"}},
	{name: "format removed", old: `{"type":"string","format":"email"}`, new: `{"type":"string"}`},

	// numbers.
	{name: "maximum increased", old: `{"type":"integer","maximum":10}`, new: `{"type":"integer","maximum":11}`},
	{name: "maximum decreased", old: `{"type":"integer","maximum":10}`, new: `{"type":"integer","maximum":9}`, want: []string{"MAXIMUM_DECREASED /maximum /"}},
	{name: "maximum added", old: `{"type":"number"}`, new: `{"type":"number","maximum":9}`, want: []string{"MAXIMUM_ADDED /maximum /"}},
	{name: "minimum decreased", old: `{"type":"number","minimum":0}`, new: `{"type":"number","minimum":-1}`},
	{name: "minimum increased", old: `{"type":"number","minimum":0}`, new: `{"type":"number","minimum":0.5}`, want: []string{"MINIMUM_INCREASED /minimum /"}},
	{name: "minimum to exclusiveMinimum same value", old: `{"type":"number","minimum":0}`, new: `{"type":"number","exclusiveMinimum":0}`, want: []string{"EXCLUSIVE_MINIMUM_INCREASED /exclusiveMinimum /"}},
	{name: "exclusiveMinimum to minimum same value", old: `{"type":"number","exclusiveMinimum":0}`, new: `{"type":"number","minimum":0}`},
	{name: "exclusiveMaximum kept", old: `{"type":"number","exclusiveMaximum":1e3}`, new: `{"type":"number","maximum":1000}`},
	{name: "multipleOf to divisor", old: `{"type":"integer","multipleOf":10}`, new: `{"type":"integer","multipleOf":5}`},
	{name: "multipleOf to non-divisor", old: `{"type":"integer","multipleOf":10}`, new: `{"type":"integer","multipleOf":3}`, want: []string{"MULTIPLE_OF_CHANGED /multipleOf /"}},
	{name: "multipleOf 1 on integers", old: `{"type":"integer"}`, new: `{"type":"integer","multipleOf":1}`},

	// objects: required.
	{name: "required added on declared property", old: `{"type":"object","properties":{"a":{"type":"string"}}}`, new: `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`, want: []string{"REQUIRED_ATTRIBUTE_ADDED /required /a"}},
	{name: "required removed", old: `{"type":"object","properties":{"a":{}},"required":["a"]}`, new: `{"type":"object","properties":{"a":{}}}`},
	{name: "required with default still breaks", old: `{"properties":{"a":{"type":"string"}}}`, new: `{"properties":{"a":{"type":"string","default":"x"}},"required":["a"]}`, want: []string{"REQUIRED_ATTRIBUTE_ADDED /required /a"}},
	{name: "required property added to closed model", old: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`, new: `{"type":"object","properties":{"a":{},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}`, want: []string{"REQUIRED_PROPERTY_ADDED /required /b"}},

	// objects: content models (the Confluent rules).
	{name: "optional property added to closed model", old: `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, new: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`},
	{name: "optional property added to open model", old: `{"type":"object","properties":{"a":{"type":"string"}}}`, new: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`, want: []string{"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL /properties/b /b"}},
	{name: "property with empty schema added to open model", old: `{"type":"object"}`, new: `{"type":"object","properties":{"b":{"description":"anything"}}}`},
	{name: "property removed from open model", old: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`, new: `{"type":"object","properties":{"a":{"type":"string"}}}`},
	{name: "property removed from closed model", old: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`, new: `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`, want: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL /additionalProperties /b"}},
	{name: "property with false removed from closed model", old: `{"type":"object","properties":{"a":{},"b":false},"additionalProperties":false}`, new: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`},
	{name: "model closed", old: `{"type":"object","properties":{"a":{}}}`, new: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`, want: []string{"ADDITIONAL_PROPERTIES_REMOVED /additionalProperties /*"}},
	{name: "model opened", old: `{"type":"object","properties":{"a":{}},"additionalProperties":false}`, new: `{"type":"object","properties":{"a":{}}}`},
	{name: "model partially opened", old: `{"type":"object","additionalProperties":false}`, new: `{"type":"object","additionalProperties":{"type":"string"}}`},
	{name: "open to partially open", old: `{"type":"object"}`, new: `{"type":"object","additionalProperties":{"type":"string"}}`, want: []string{"ADDITIONAL_PROPERTIES_NARROWED /additionalProperties /*"}},
	{name: "partially open widened", old: `{"additionalProperties":{"type":"string"}}`, new: `{"additionalProperties":{"type":["string","integer"]}}`},
	{name: "partially open narrowed", old: `{"additionalProperties":{"type":["string","integer"]}}`, new: `{"additionalProperties":{"type":"string"}}`, want: []string{"ADDITIONAL_PROPERTIES_NARROWED /additionalProperties /*"}},
	{name: "property added covered by partially open model", old: `{"type":"object","additionalProperties":{"type":"string"}}`, new: `{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}`},
	{name: "property added not covered by partially open model", old: `{"type":"object","additionalProperties":{"type":"string"}}`, new: `{"type":"object","properties":{"b":{"type":"string","maxLength":3}},"additionalProperties":{"type":"string"}}`, want: []string{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL /properties/b /b"}},
	{name: "property removed covered by partially open model", old: `{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}`, new: `{"type":"object","additionalProperties":{"type":"string"}}`},
	{name: "property removed not covered by partially open model", old: `{"type":"object","properties":{"b":{"type":"integer"}},"additionalProperties":{"type":"string"}}`, new: `{"type":"object","additionalProperties":{"type":"string"}}`, want: []string{"PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL /additionalProperties /b"}},
	{name: "property schema narrowed", old: `{"properties":{"a":{"type":"string"}}}`, new: `{"properties":{"a":{"type":"string","maxLength":5}}}`, want: []string{"MAX_LENGTH_ADDED /properties/a/maxLength /a"}},
	{name: "nested objects recursively", old: `{"type":"object","properties":{"child":{"type":"object","properties":{"name":{"type":"string"},"sex":{"enum":["M","F"]}},"additionalProperties":false}}}`,
		new:  `{"type":"object","properties":{"child":{"type":"object","properties":{"name":{"type":"string","minLength":1},"sex":{"enum":["M"]}},"additionalProperties":false,"required":["name"]}}}`,
		want: []string{"MIN_LENGTH_ADDED /properties/child/properties/name/minLength /child/name", "ENUM_ARRAY_NARROWED /properties/child/properties/sex/enum /child/sex", "REQUIRED_ATTRIBUTE_ADDED /properties/child/required /child/name"}},
	{name: "patternProperties kept", old: `{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`, new: `{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`},
	{name: "patternProperties narrowed", old: `{"patternProperties":{"^x-":{"type":"string"}}}`, new: `{"patternProperties":{"^x-":{"type":"string","maxLength":3}}}`, want: []string{"MAX_LENGTH_ADDED /patternProperties/^x-/maxLength /*"}},
	{name: "patternProperties added to open model", old: `{"type":"object"}`, new: `{"type":"object","patternProperties":{"^x-":{"type":"string"}}}`, want: []string{"PATTERN_PROPERTY_ADDED /patternProperties/^x- /*"}},
	{name: "optional property added to model closed by unevaluatedProperties", old: `{"type":"object","properties":{"a":{}},"unevaluatedProperties":false}`, new: `{"type":"object","properties":{"a":{},"b":{"type":"string"}},"unevaluatedProperties":false}`},
	{name: "unevaluatedProperties closes what was open", old: `{"type":"object","properties":{"a":{}}}`, new: `{"type":"object","properties":{"a":{}},"unevaluatedProperties":false}`, want: []string{"ADDITIONAL_PROPERTIES_REMOVED /unevaluatedProperties /*"}},
	{name: "unevaluatedProperties with anyOf not analysed", old: `{"type":"object"}`, new: `{"type":"object","anyOf":[{"properties":{"a":{}}},{}],"unevaluatedProperties":false}`, want: []string{"NOT_ANALYSED /unevaluatedProperties /"}},
	{name: "property removed with unevaluatedProperties false", old: `{"properties":{"a":{},"b":{"type":"string"}},"unevaluatedProperties":false}`, new: `{"properties":{"a":{}},"unevaluatedProperties":false}`, want: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL /unevaluatedProperties /b"}},
	{name: "propertyNames added", old: `{"type":"object"}`, new: `{"type":"object","propertyNames":{"pattern":"^[a-z]+$"}}`, want: []string{"PROPERTY_NAMES_ADDED /propertyNames /"}},
	{name: "propertyNames added to closed model that fits", old: `{"type":"object","properties":{"ab":{}},"additionalProperties":false}`, new: `{"type":"object","properties":{"ab":{}},"additionalProperties":false,"propertyNames":{"pattern":"^[a-z]+$"}}`},
	{name: "maxProperties decreased", old: `{"type":"object","maxProperties":5}`, new: `{"type":"object","maxProperties":4}`, want: []string{"MAX_PROPERTIES_DECREASED /maxProperties /"}},
	{name: "minProperties added", old: `{"type":"object"}`, new: `{"type":"object","minProperties":1}`, want: []string{"MIN_PROPERTIES_ADDED /minProperties /"}},
	{name: "dependentRequired added", old: `{"type":"object"}`, new: `{"type":"object","dependentRequired":{"a":["b"]}}`, want: []string{"DEPENDENCY_ARRAY_EXTENDED /dependentRequired/a /b"}},
	{name: "dependentRequired removed", old: `{"type":"object","dependentRequired":{"a":["b"]}}`, new: `{"type":"object"}`},
	{name: "dependentSchemas added", old: `{"type":"object"}`, new: `{"type":"object","dependentSchemas":{"a":{"required":["b"]}}}`, want: []string{"DEPENDENCY_SCHEMA_ADDED /dependentSchemas/a /"}},

	// arrays.
	{name: "items narrowed", old: `{"type":"array","items":{"type":["string","integer"]}}`, new: `{"type":"array","items":{"type":"string"}}`, want: []string{"TYPE_NARROWED /items/type /*"}},
	{name: "items widened", old: `{"type":"array","items":{"type":"string"}}`, new: `{"type":"array","items":{"type":["string","integer"]}}`},
	{name: "items added", old: `{"type":"array"}`, new: `{"type":"array","items":{"type":"string"}}`, want: []string{"TYPE_ADDED /items/type /*"}},
	{name: "items removed", old: `{"type":"array","items":{"type":"string"}}`, new: `{"type":"array"}`},
	{name: "array of objects recursively", old: `{"type":"array","items":{"type":"object","properties":{"url":{"type":"string"}},"additionalProperties":false}}`,
		new: `{"type":"array","items":{"type":"object","properties":{"url":{"type":"string","pattern":"^https://"}},"additionalProperties":false}}`, want: []string{"PATTERN_ADDED /items/properties/url/pattern /*/url"}},
	{name: "maxItems decreased", old: `{"type":"array","maxItems":100}`, new: `{"type":"array","maxItems":10}`, want: []string{"MAX_ITEMS_DECREASED /maxItems /"}},
	{name: "minItems added", old: `{"type":"array"}`, new: `{"type":"array","minItems":1}`, want: []string{"MIN_ITEMS_ADDED /minItems /"}},
	{name: "uniqueItems added", old: `{"type":"array"}`, new: `{"type":"array","uniqueItems":true}`, want: []string{"UNIQUE_ITEMS_ADDED /uniqueItems /"}},
	{name: "uniqueItems removed", old: `{"type":"array","uniqueItems":true}`, new: `{"type":"array"}`},
	{name: "prefixItems item added to closed tuple", old: `{"type":"array","prefixItems":[{"type":"string"}],"items":false}`, new: `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}`},
	{name: "prefixItems item added to open tuple", old: `{"type":"array","prefixItems":[{"type":"string"}]}`, new: `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}]}`, want: []string{"TYPE_ADDED /prefixItems/1/type /1"}},
	{name: "prefixItems item removed from closed tuple", old: `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}`, new: `{"type":"array","prefixItems":[{"type":"string"}],"items":false}`, want: []string{"NOTHING_ACCEPTED /items /1"}},
	{name: "tuple closed", old: `{"type":"array","prefixItems":[{"type":"string"}]}`, new: `{"type":"array","prefixItems":[{"type":"string"}],"items":false}`, want: []string{"ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL /items /*"}},
	{name: "contains added", old: `{"type":"array"}`, new: `{"type":"array","contains":{"const":1}}`, want: []string{"CONTAINS_NARROWED /contains /"}},
	{name: "contains widened", old: `{"type":"array","contains":{"const":1}}`, new: `{"type":"array","contains":{"type":"integer"}}`},

	// composition.
	{name: "anyOf member added", old: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}`},
	{name: "anyOf member removed", old: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"anyOf":[{"type":"string"}]}`, want: []string{"SUM_TYPE_NARROWED /anyOf /"}},
	{name: "oneOf member removed", old: `{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}`, new: `{"oneOf":[{"type":"string"},{"type":"null"}]}`, want: []string{"SUM_TYPE_NARROWED /oneOf /"}},
	{name: "oneOf reordered", old: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"oneOf":[{"type":"integer"},{"type":"string"}]}`},
	{name: "anyOf to its members' union type", old: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"type":["string","integer"]}`},
	{name: "type split into anyOf", old: `{"type":["string","integer"]}`, new: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`},
	{name: "anyOf member narrowed", old: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, new: `{"anyOf":[{"type":"string","maxLength":2},{"type":"integer"}]}`, want: []string{"SUM_TYPE_NARROWED /anyOf /"}},
	{name: "allOf member added", old: `{"allOf":[{"type":"string"}]}`, new: `{"allOf":[{"type":"string"},{"maxLength":3}]}`, want: []string{"MAX_LENGTH_ADDED /allOf/1/maxLength /"}},
	{name: "allOf member removed", old: `{"allOf":[{"type":"string"},{"maxLength":3}]}`, new: `{"allOf":[{"type":"string"}]}`},
	{name: "not added", old: `{"type":"string"}`, new: `{"type":"string","not":{"const":"x"}}`, want: []string{"NOT_TYPE_NARROWED /not /"}},
	{name: "not of another type", old: `{"type":"string"}`, new: `{"type":"string","not":{"type":"null"}}`},
	{name: "if/then/else kept", old: `{"type":"object","properties":{"kind":{"enum":["a","b"]},"x":{},"y":{}},"if":{"properties":{"kind":{"const":"b"}},"required":["kind"]},"then":{"required":["x"]},"else":{"required":["y"]}}`,
		new: `{"type":"object","properties":{"kind":{"enum":["a","b"]},"x":{},"y":{}},"if":{"properties":{"kind":{"const":"b"}},"required":["kind"]},"then":{"required":["x"]},"else":{"required":["y"]}}`},
	{name: "if/then/else added", old: `{"type":"object","properties":{"kind":{},"x":{}}}`,
		new: `{"type":"object","properties":{"kind":{},"x":{}},"if":{"properties":{"kind":{"const":"b"}},"required":["kind"]},"then":{"required":["x"]}}`, want: []string{"REQUIRED_ATTRIBUTE_ADDED /then/required /x"}},

	// $ref and $defs.
	{name: "local ref unchanged", old: `{"$defs":{"s":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/$defs/s"}}}`, new: `{"$defs":{"s":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/$defs/s"}}}`},
	{name: "local ref target narrowed", old: `{"$defs":{"s":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/$defs/s"}}}`, new: `{"$defs":{"s":{"type":"string","maxLength":4}},"properties":{"a":{"$ref":"#/$defs/s"}}}`, want: []string{"MAX_LENGTH_DECREASED /$defs/s/maxLength /a"}},
	{name: "ref inlined", old: `{"$defs":{"s":{"type":"string","maxLength":5}},"properties":{"a":{"$ref":"#/$defs/s"}}}`, new: `{"properties":{"a":{"type":"string","maxLength":5}}}`},
	{name: "ref renamed", old: `{"$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s"}}}`, new: `{"$defs":{"t":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/t"}}}`},
	{name: "ref with sibling keywords", old: `{"$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s","maxLength":3}}}`, new: `{"$defs":{"s":{"type":"string","maxLength":3}},"properties":{"a":{"$ref":"#/$defs/s"}}}`},
	{name: "anchor ref", old: `{"$defs":{"s":{"$anchor":"s","type":"string"}},"items":{"$ref":"#s"}}`, new: `{"$defs":{"s":{"$anchor":"s","type":"string","minLength":1}},"items":{"$ref":"#s"}}`, want: []string{"MIN_LENGTH_ADDED /$defs/s/minLength /*"}},
	{name: "ref into an allOf member", old: `{"allOf":[{"type":"string","maxLength":5}],"properties":{},"$defs":{"x":{"$ref":"#/allOf/0"}}}`, new: `{"$defs":{"s":{"allOf":[{"type":"string","maxLength":4}]}},"$ref":"#/$defs/s/allOf/0"}`, want: []string{"MAX_LENGTH_DECREASED /$defs/s/allOf/0/maxLength /"}},
	{name: "ref to a nested $id", old: `{"type":"string"}`, new: `{"$defs":{"n":{"$id":"urn:test:nested","$defs":{"s":{"type":"string","minLength":2}}}},"$ref":"urn:test:nested#/$defs/s"}`, want: []string{"MIN_LENGTH_ADDED /$defs/n/$defs/s/minLength /"}},
	{name: "recursive schema", old: `{"$defs":{"t":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`,
		new: `{"$defs":{"t":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`},
	{name: "recursive schema narrowed", old: `{"$defs":{"t":{"type":"object","properties":{"name":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`,
		new:  `{"$defs":{"t":{"type":"object","properties":{"name":{"type":"string","maxLength":9},"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}`,
		want: []string{"MAX_LENGTH_ADDED /$defs/t/properties/name/maxLength /name", "MAX_LENGTH_ADDED /$defs/t/properties/name/maxLength /kids/*/name"}},
	{name: "embedded defs ref kept", old: `{"properties":{"id":{"$ref":"urn:lienthong:schema:defs#/$defs/citizen_id"}}}`, new: `{"properties":{"id":{"$ref":"urn:lienthong:schema:defs#/$defs/citizen_id"}}}`},
	{name: "embedded defs ref to narrower local", old: `{"properties":{"id":{"$ref":"urn:lienthong:schema:defs#/$defs/tax_code"}}}`, new: `{"properties":{"id":{"type":"string","pattern":"^[0-9]{10}$"}}}`, want: []string{"PATTERN_CHANGED /properties/id/pattern /id"}},
	{name: "local to embedded defs enum", old: `{"properties":{"c":{"enum":["direct","online"]}}}`, new: `{"properties":{"c":{"$ref":"urn:lienthong:schema:defs#/$defs/channel"}}}`},
	{name: "local enum wider than embedded", old: `{"properties":{"c":{"enum":["direct","email"]}}}`, new: `{"properties":{"c":{"$ref":"urn:lienthong:schema:defs#/$defs/channel"}}}`, want: []string{"ENUM_ARRAY_NARROWED urn:lienthong:schema:defs#/$defs/channel/enum /c"}},
}

func TestCompatibleTable(t *testing.T) {
	for _, tc := range compatCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compatible([]byte(tc.old), []byte(tc.new), false)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, i := range got {
				gotS = append(gotS, i.Kind+" "+orSlash(i.Schema)+" "+orSlash(i.Instance))
				if i.Reason == "" {
					t.Errorf("%s: no reason", i.Kind)
				}
			}
			if !sameSet(gotS, tc.want) {
				t.Errorf("got  %q\nwant %q\n%s", gotS, tc.want, listIncompat(got))
			}
		})
	}
}

func orSlash(s string) string {
	if s == "" {
		return "/"
	}
	return s
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func listIncompat(in []Incompatibility) string {
	var b strings.Builder
	for _, i := range in {
		b.WriteString("  " + i.String() + "\n")
	}
	return b.String()
}

// TestCompatibleEmbeddedSelf: every embedded schema is compatible with
// itself, through the public function and through the full analysis (no
// shortcut for equal documents), with the shared definitions inlined so that
// every keyword is compared rather than recognised as the same node.
func TestCompatibleEmbeddedSelf(t *testing.T) {
	reg := MustLoad()
	names := []string{"envelope", "defs"}
	for _, in := range reg.List() {
		names = append(names, in.Type+"/v"+itoa(in.Version))
	}
	for _, f := range reg.Forms() {
		names = append(names, "forms/"+f.Name+"/v"+itoa(f.Version))
	}
	for _, name := range names {
		doc, ok := reg.Document(name)
		if !ok {
			t.Fatalf("no document %s", name)
		}
		if got, err := Compatible(doc, doc); err != nil || len(got) > 0 {
			t.Errorf("%s vs itself: %v\n%s", name, err, listIncompat(got))
		}
		if got, err := compatible(doc, doc, false); err != nil || len(got) > 0 {
			t.Errorf("%s vs itself, analysed: %v\n%s", name, err, listIncompat(got))
		}
		inl := inlineDefs(t, doc)
		if got, err := compatible(inl, inl, false); err != nil || len(got) > 0 {
			t.Errorf("%s inlined vs itself, analysed: %v\n%s", name, err, listIncompat(got))
		}
		// The inlined copy accepts what the original does, and back.
		if got, err := compatible(doc, inl, false); err != nil || len(got) > 0 {
			t.Errorf("%s vs its inlined copy: %v\n%s", name, err, listIncompat(got))
		}
		if got, err := compatible(inl, doc, false); err != nil || len(got) > 0 {
			t.Errorf("%s inlined copy vs original: %v\n%s", name, err, listIncompat(got))
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// inlineDefs copies doc with the embedded shared definitions as its own
// $defs and a $id of its own, so that no $ref leads to an embedded node.
func inlineDefs(t *testing.T, doc []byte) []byte {
	t.Helper()
	defs, _ := MustLoad().Document("defs")
	var d, m map[string]any
	if err := json.Unmarshal(defs, &d); err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(doc), `"urn:lienthong:schema:defs#/$defs/`, `"#/$defs/`)
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	own, _ := m["$defs"].(map[string]any)
	all := map[string]any{}
	for k, v := range d["$defs"].(map[string]any) {
		all[k] = v
	}
	for k, v := range own {
		all[k] = v
	}
	m["$defs"] = all
	m["$id"] = "urn:test:inlined"
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCompatibleEmbeddedChanges: changes to a real event schema (with the
// shared definitions inlined) are located where they are made.
func TestCompatibleEmbeddedChanges(t *testing.T) {
	orig, _ := MustLoad().Document("dossier.submitted/v1")
	old := inlineDefs(t, orig)
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"citizen id shortened", `"^[0-9]{12}$"`, `"^[0-9]{9}$"`, []string{"PATTERN_CHANGED /$defs/citizen_id/pattern /applicant/id_number"}},
		{"channel narrowed", `"enum":["direct","online","postal"]`, `"enum":["direct","online"]`, []string{"ENUM_ARRAY_NARROWED /$defs/channel/enum /channel"}},
		{"documents fewer", `"maxItems":100`, `"maxItems":50`, []string{"MAX_ITEMS_DECREASED /$defs/documents/maxItems /documents"}},
		{"applicant email made required", `"required":["full_name"]`, `"required":["full_name","email"]`, []string{"REQUIRED_ATTRIBUTE_ADDED /$defs/applicant/required /applicant/email"}},
		{"applicant phone dropped", `"phone":{"pattern":"^\\+?[0-9 ]{8,15}$","type":"string"},`, ``, []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL /$defs/applicant/additionalProperties /applicant/phone"}},
		{"business needs phone", `"then":{"required":["tax_code"]}`, `"then":{"required":["tax_code","phone"]}`, []string{"REQUIRED_ATTRIBUTE_ADDED /$defs/applicant/then/required /applicant/phone"}},
		{"optional field added to closed data", `"properties":{"applicant":{"$ref":"#/$defs/applicant"},`, `"properties":{"note":{"type":"string"},"applicant":{"$ref":"#/$defs/applicant"},`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(old), tc.from) {
				t.Fatalf("%s not in %s", tc.from, old)
			}
			nw := []byte(strings.Replace(string(old), tc.from, tc.to, 1))
			got, err := Compatible(old, nw)
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, i := range got {
				gotS = append(gotS, i.Kind+" "+orSlash(i.Schema)+" "+orSlash(i.Instance))
			}
			if !sameSet(gotS, tc.want) {
				t.Errorf("got  %q\nwant %q\n%s", gotS, tc.want, listIncompat(got))
			}
		})
	}
}

// TestCompatibleVersions compares the published versions of each event
// type: a later version need not be compatible (a new version may break
// by design), but comparing must work and say why.
func TestCompatibleVersions(t *testing.T) {
	reg := MustLoad()
	latest := map[string][]byte{}
	for _, in := range reg.List() {
		doc, _ := reg.Document(in.Type + "/v" + itoa(in.Version))
		if prev, ok := latest[in.Type]; ok {
			got, err := Compatible(prev, doc)
			if err != nil {
				t.Fatalf("%s v%d: %v", in.Type, in.Version, err)
			}
			t.Logf("%s v%d against v%d: %d breaking change(s)\n%s", in.Type, in.Version, in.Version-1, len(got), listIncompat(got))
		}
		latest[in.Type] = doc
	}
}

func TestCompatibleUsageErrors(t *testing.T) {
	good := `{"type":"string"}`
	for name, bad := range map[string]string{
		"not JSON":             `{"type":`,
		"trailing data":        `{} {}`,
		"not a schema value":   `[1,2]`,
		"bad keyword value":    `{"type":5}`,
		"bad regex":            `{"pattern":"("}`,
		"another draft":        `{"$schema":"http://json-schema.org/draft-07/schema#"}`,
		"remote ref":           `{"$ref":"https://example.com/s.json"}`,
		"ref to nothing":       `{"$ref":"#/$defs/none"}`,
		"unknown embedded urn": `{"$ref":"urn:lienthong:schema:nope:v1"}`,
		"empty":                ``,
	} {
		if _, err := Compatible([]byte(bad), []byte(good)); err == nil || !errors.Is(err, ErrNotSchema) || !strings.HasPrefix(err.Error(), "OLD: ") {
			t.Errorf("%s as OLD: %v", name, err)
		}
		if _, err := Compatible([]byte(good), []byte(bad)); err == nil || !errors.Is(err, ErrNotSchema) || !strings.HasPrefix(err.Error(), "NEW: ") {
			t.Errorf("%s as NEW: %v", name, err)
		}
	}
}

// TestCompatibleFiles runs the pairs under testdata/compat: <name>.old.json
// and <name>.new.json, with <name>.want.txt listing the expected
// "KIND schema instance" lines (empty: compatible).
func TestCompatibleFiles(t *testing.T) {
	olds, _ := filepath.Glob("testdata/compat/*.old.json")
	if len(olds) == 0 {
		t.Fatal("no pairs in testdata/compat")
	}
	for _, o := range olds {
		base := strings.TrimSuffix(o, ".old.json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			ob, err1 := os.ReadFile(o)
			nb, err2 := os.ReadFile(base + ".new.json")
			wb, err3 := os.ReadFile(base + ".want.txt")
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			got, err := Compatible(ob, nb)
			if err != nil {
				t.Fatal(err)
			}
			var gotS, want []string
			for _, i := range got {
				gotS = append(gotS, i.Kind+" "+orSlash(i.Schema)+" "+orSlash(i.Instance))
			}
			for _, l := range strings.Split(string(wb), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					want = append(want, l)
				}
			}
			if !sameSet(gotS, want) {
				t.Errorf("got  %q\nwant %q\n%s", gotS, want, listIncompat(got))
			}
		})
	}
}

// TestCompatibleIsSound: for every pair the table calls compatible, random
// instances that OLD accepts are all accepted by NEW. The instances are
// built from the literals of both schemas (property names, enum and const
// values, bounds) and a few of their own, so that OLD accepts many.
func TestCompatibleIsSound(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, tc := range compatCases {
		if len(tc.want) > 0 {
			continue
		}
		oldS, newS := compileForTest(t, tc.old), compileForTest(t, tc.new)
		names, scalars := literals(tc.old, tc.new)
		accepted := 0
		for i := 0; i < 3000; i++ {
			v := randomValue(rnd, names, scalars, 3)
			if oldS.Validate(v) != nil {
				continue
			}
			accepted++
			if err := newS.Validate(v); err != nil {
				b, _ := json.Marshal(v)
				t.Errorf("%s: called compatible, but OLD accepts %s and NEW refuses it: %v", tc.name, b, err)
				break
			}
		}
		if accepted == 0 && tc.old != "false" {
			t.Logf("%s: no random instance passed OLD", tc.name)
		}
	}
}

func compileForTest(t *testing.T, src string) *jsonschema.Schema {
	t.Helper()
	c := newCompatCompiler()
	if err := c.AddResource("test:///s.json", strings.NewReader(src)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("test:///s.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// literals collects the property names and the scalar values of schemas.
func literals(srcs ...string) (names []string, scalars []any) {
	scalars = []any{nil, true, false, json.Number("0"), json.Number("1"), json.Number("-1"), json.Number("0.5"),
		json.Number("3"), json.Number("4"), json.Number("10"), json.Number("1000"), "", "a", "ab", "abc", "abcdef",
		"2026-03-03T08:15:00+07:00", "x-a", "ONT", "HCC-20260303-0001", "001203004005", "0123456789", "b", "a@b.vn"}
	names = []string{"zz", "x-a"}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if key == "properties" || key == "patternProperties" || key == "dependentRequired" {
					names = append(names, k)
				}
				walk(c, k)
			}
		case []any:
			for _, c := range x {
				if s, ok := c.(string); ok && key == "required" {
					names = append(names, s)
				}
				walk(c, key)
			}
		case string, json.Number, bool:
			switch key {
			case "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
				scalars = append(scalars, x)
			}
		}
	}
	for _, s := range srcs {
		v, _ := decodeJSON([]byte(s))
		walk(v, "")
	}
	return names, scalars
}

func randomValue(r *rand.Rand, names []string, scalars []any, depth int) any {
	k := r.IntN(10)
	switch {
	case depth > 0 && k < 3:
		m := map[string]any{}
		for i, n := 0, r.IntN(5); i < n; i++ {
			m[names[r.IntN(len(names))]] = randomValue(r, names, scalars, depth-1)
		}
		return m
	case depth > 0 && k < 5:
		a := []any{}
		for i, n := 0, r.IntN(4); i < n; i++ {
			a = append(a, randomValue(r, names, scalars, depth-1))
		}
		return a
	}
	return scalars[r.IntN(len(scalars))]
}

// TestCompatibleConcurrent: Compatible may be called from several
// goroutines at once (run with -race).
func TestCompatibleConcurrent(t *testing.T) {
	doc, _ := MustLoad().Document("dossier.submitted/v1")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range compatCases[:20] {
				if _, err := Compatible([]byte(tc.old), []byte(tc.new)); err != nil {
					t.Error(err)
				}
			}
			if got, err := compatible(doc, doc, false); err != nil || len(got) > 0 {
				t.Error(err, got)
			}
		}()
	}
	wg.Wait()
}

// Every published version accepts what the one before it accepted: a
// sender on vN keeps working when vN+1 becomes the default.
func TestEmbeddedVersionsStayCompatible(t *testing.T) {
	for _, in := range reg.List() {
		if in.Version == 1 {
			continue
		}
		prev, _ := reg.Document(in.Type + "/v" + strconv.Itoa(in.Version-1))
		cur, _ := reg.Document(in.Type + "/v" + strconv.Itoa(in.Version))
		breaks, err := Compatible(prev, cur)
		if err != nil {
			t.Fatalf("%s v%d: %v", in.Type, in.Version, err)
		}
		for _, b := range breaks {
			t.Errorf("%s v%d breaks v%d: %v", in.Type, in.Version, in.Version-1, b)
		}
	}
}
