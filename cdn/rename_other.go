//go:build !linux

package cdn

import "os"

// renameNoReplace renames oldpath to newpath, failing with an error that
// satisfies errors.Is(err, fs.ErrExist) if newpath exists. Without
// renameat2 it relies on what every rename does: it never replaces a
// non-empty folder, and every version holds at least its asset manifest.
// os.Rename also refuses an existing empty folder.
func renameNoReplace(oldpath, newpath string) error {
	return os.Rename(oldpath, newpath)
}
