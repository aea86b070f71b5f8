package web

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDistIsFresh rebuilds the front end into a temporary directory and
// compares it with the committed dist/: edit src/, then run `npm run build`
// in web/ (make web) and commit dist/.
func TestDistIsFresh(t *testing.T) {
	if _, err := os.Stat(filepath.Join("node_modules", "esbuild")); err != nil {
		t.Fatalf("web/node_modules is missing: run `make deps` (npm ci --prefix web): %v", err)
	}
	out := t.TempDir()
	cmd := exec.Command("node", "build.mjs", "--outdir="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	want := readTree(t, os.DirFS(out))
	got := readTree(t, Assets())
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("dist/%s is missing: run `npm run build` in web/", name)
		} else if !bytes.Equal(g, w) {
			t.Errorf("dist/%s is stale: run `npm run build` in web/", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("dist/%s is no longer built: delete it", name)
		}
	}
}

func readTree(t *testing.T, fsys fs.FS) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
