package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// schemaNode is the part of JSON Schema docs/bottle.schema.json uses.
type schemaNode struct {
	Type                 string                 `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
}

// structKeys walks the manifest's types the way the TOML decoder does and
// returns every key path with its JSON Schema type ("egress.routes[].host
// string").
func structKeys(t reflect.Type, prefix string, out map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		key := prefix + tag
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.String:
			out[key] = "string"
		case reflect.Bool:
			out[key] = "boolean"
		case reflect.Int, reflect.Int64:
			out[key] = "integer"
		case reflect.Float64:
			out[key] = "number"
		case reflect.Map:
			out[key] = "object of " + ft.Elem().Kind().String()
		case reflect.Slice:
			if ft.Elem().Kind() == reflect.Struct {
				out[key] = "array of object"
				structKeys(ft.Elem(), key+"[].", out)
			} else {
				out[key] = "array of " + ft.Elem().Kind().String()
			}
		case reflect.Struct:
			out[key] = "object"
			structKeys(ft, key+".", out)
		default:
			out[key] = "unsupported " + ft.Kind().String()
		}
	}
}

func schemaKeys(n *schemaNode, prefix string, out map[string]string) {
	names := make([]string, 0, len(n.Properties))
	for k := range n.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c := n.Properties[k]
		key := prefix + k
		switch {
		case c.Type == "array" && c.Items != nil && c.Items.Type == "object":
			out[key] = "array of object"
			schemaKeys(c.Items, key+"[].", out)
		case c.Type == "array" && c.Items != nil:
			out[key] = "array of " + c.Items.Type
		case c.Type == "object" && len(c.Properties) == 0:
			var ap schemaNode
			_ = json.Unmarshal(c.AdditionalProperties, &ap)
			out[key] = "object of " + ap.Type
		case c.Type == "object":
			out[key] = "object"
			schemaKeys(c, key+".", out)
		default:
			out[key] = c.Type
		}
		if c.Type == "object" && len(c.Properties) > 0 && string(c.AdditionalProperties) != "false" {
			out[key] += " (additionalProperties must be false: unknown keys are errors)"
		}
	}
}

// TestSchemaMatchesTheParser keeps docs/bottle.schema.json and the
// manifest's types in step: every key the parser accepts is in the schema
// with the same type, and the schema names no key the parser refuses.
func TestSchemaMatchesTheParser(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "bottle.schema.json"))
	assert.NilError(t, err)
	var root schemaNode
	assert.NilError(t, json.Unmarshal(data, &root))
	assert.Equal(t, string(root.AdditionalProperties), "false")

	fromStructs := map[string]string{}
	structKeys(reflect.TypeOf(Manifest{}), "", fromStructs)
	fromSchema := map[string]string{}
	schemaKeys(&root, "", fromSchema)
	var problems []string
	for k, typ := range fromStructs {
		switch st, ok := fromSchema[k]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s (%s) is accepted by the parser but missing from docs/bottle.schema.json", k, typ))
		case st != typ:
			problems = append(problems, fmt.Sprintf("%s: parser type %s, schema type %s", k, typ, st))
		}
	}
	for k := range fromSchema {
		if _, ok := fromStructs[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s is in docs/bottle.schema.json but the parser refuses it", k))
		}
	}
	sort.Strings(problems)
	assert.Assert(t, len(problems) == 0, "\n%s", strings.Join(problems, "\n"))
	assert.Assert(t, len(fromStructs) > 20, "the walk found the keys: %v", fromStructs)

	// Each schema key is accepted by the parser: a manifest using the
	// table of every key decodes without "unknown key".
	for k := range fromSchema {
		if strings.Contains(k, "[]") || !strings.Contains(k, ".") {
			continue
		}
		table, key, _ := strings.Cut(k, ".")
		src := fmt.Sprintf("name = \"x\"\n[%s]\n%s = %s\n", table, key, sampleValue(fromSchema[k]))
		_, err := Parse([]byte(src), "probe.toml")
		if err != nil {
			assert.Assert(t, !strings.Contains(err.Error(), "unknown key"), "%s: %v", k, err)
		}
	}
}

func sampleValue(typ string) string {
	switch {
	case typ == "boolean":
		return "true"
	case strings.HasPrefix(typ, "array"):
		return "[]"
	default:
		return `"10m"`
	}
}
