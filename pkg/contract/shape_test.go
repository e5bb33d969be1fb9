package contract

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseBundle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
		set   bool
		want  Shape
	}{
		{name: "unset", set: false, want: Legacy},
		{name: "unset ignores value", value: "1", set: false, want: Legacy},
		{name: "empty", value: "", set: true, want: Legacy},
		{name: "blank", value: "   ", set: true, want: Legacy},
		{name: "zero", value: "0", set: true, want: Legacy},
		{name: "false", value: "false", set: true, want: Legacy},
		{name: "FALSE", value: "FALSE", set: true, want: Legacy},
		{name: "no mixed case", value: "No", set: true, want: Legacy},
		{name: "off padded", value: "  oFf\t", set: true, want: Legacy},
		{name: "one", value: "1", set: true, want: Bundle},
		{name: "true", value: "true", set: true, want: Bundle},
		{name: "yes", value: "yes", set: true, want: Bundle},
		{name: "on", value: "on", set: true, want: Bundle},
		{name: "anything else", value: "bundle", set: true, want: Bundle},
		{name: "two", value: "2", set: true, want: Bundle},
		{name: "zero zero is not zero", value: "00", set: true, want: Bundle},
		{name: "falsey typo", value: "flase", set: true, want: Bundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, ParseBundle(tc.value, tc.set), tc.want)
		})
	}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestShapeFromEnv(t *testing.T) {
	assert.Equal(t, ShapeFromEnv(env(nil)), Legacy)
	assert.Equal(t, ShapeFromEnv(env(map[string]string{BundleEnv: "1"})), Bundle)
	assert.Equal(t, ShapeFromEnv(env(map[string]string{BundleEnv: "off"})), Legacy)
}

func TestImage(t *testing.T) {
	assert.Equal(t, SidecarImage(env(nil)), DefaultSidecarImage)
	assert.Equal(t, SidecarImage(env(map[string]string{ImageEnv: "  "})), DefaultSidecarImage)
	assert.Equal(t, SidecarImage(env(map[string]string{ImageEnv: " reg.local/sc:v2 "})), "reg.local/sc:v2")
}
