package manifest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueprint/cueprint/index/manifest"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string // id|path|url|error-substring per row
		wantErr string
	}{
		{"no header", "W1,One,,,a.mp3\nW2,Two,,,b.mp3\n", []string{"W1|a.mp3||", "W2|b.mp3||"}, ""},
		{"header in any order", "path,id,owners\nx.ogg,W1,A:60;B:40:label\n", []string{"W1|x.ogg||"}, ""},
		{"url column", "id,title,url\nW1,T,https://h/x.mp3\n", []string{"W1||https://h/x.mp3|"}, ""},
		{"bad rows kept with errors", "id,title,isrc,path\n,No id,,a.mp3\nW2,T,XX,b.mp3\nW3,T,,\n# comment\nW4,T,,d.mp3\n",
			[]string{"|a.mp3||id", "W2|b.mp3||isrc", "W3|||no path", "W4|d.mp3||"}, ""},
		{"bad owner", "id,owners,path\nW1,A:lots,a.mp3\n", []string{"W1|a.mp3||share"}, ""},
		{"no path column", "id,title\nW1,T\n", nil, "no path or url column"},
		{"bad csv", "id,path\n\"W1,a.mp3\n", nil, "manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := manifest.Parse(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, rows, len(tc.want))
			for i, w := range tc.want {
				f := strings.Split(w, "|")
				assert.Equal(t, f[0], rows[i].Work.ID)
				assert.Equal(t, f[1], rows[i].Path)
				assert.Equal(t, f[2], rows[i].URL)
				if f[3] == "" {
					assert.NoError(t, rows[i].Err)
				} else {
					assert.ErrorContains(t, rows[i].Err, f[3])
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("id,title,isrc,iswc,path,owners\nW1,T,USRC17607839,T-034.524.680-1,a.mp3,A:50;B:50\n")
	f.Add("W1,One,,,a.mp3\n")
	f.Add("id,url\n\"x\"\"y\",http://h/\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := manifest.Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil && r.Work.ID == "" {
				t.Fatalf("row %d accepted without an id", r.Line)
			}
		}
	})
}
