package targets

import (
	"testing"

	"gotest.tools/v3/assert"
)

func TestParseBundleArg(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    bool
		wantErr string
	}{
		{arg: "bundle=0", want: false},
		{arg: "bundle=1", want: true},
		{arg: " bundle = 1 ", want: true},
		{arg: "0", want: false},
		{arg: "1", want: true},
		{arg: "bundle=2", wantErr: `invalid value "bundle=2"`},
		{arg: "bundle=true", wantErr: `invalid value "bundle=true"`},
		{arg: "bundle=", wantErr: `invalid value "bundle="`},
		{arg: "", wantErr: `invalid value ""`},
		{arg: "shape=1", wantErr: `unknown argument "shape=1"`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			got, err := ParseBundleArg(tc.arg)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "want bundle=0 (legacy shape) or bundle=1 (bundle shape)")
				return
			}
			assert.NilError(t, err)
			assert.Equal(t, got, tc.want)
		})
	}
}
