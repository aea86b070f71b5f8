package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compactTxSize bounds the bytes one transaction of Compact copies.
const compactTxSize = 64 << 20

// Compact rewrites the store in dir into a new file without free pages and
// puts it in place of the old one, returning the file sizes before and
// after. bbolt reuses the pages deletions free but never shrinks its file:
// this is how to give them back after a large deletion. It is offline: it
// fails (after a second) while a server has the store open, and no server
// may open it until it returns.
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, DBFile)
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	defer func() {
		if src != nil {
			_ = src.Close()
		}
	}()
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if e := dst.Close(); err == nil {
		err = e
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	if before, err = fileSize(path); err == nil {
		after, err = fileSize(tmp)
	}
	if err == nil {
		err = src.Close()
		src = nil
	}
	if err == nil {
		err = os.Rename(tmp, path) // each commit of Compact synced tmp
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, 0, fmt.Errorf("compact %s: %w", path, err)
	}
	return before, after, nil
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if e := d.Close(); err == nil {
		err = e
	}
	return err
}
