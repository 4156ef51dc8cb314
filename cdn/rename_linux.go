package cdn

import (
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldpath to newpath, failing with an error that
// satisfies errors.Is(err, fs.ErrExist) if newpath exists. Of several
// concurrent renames to one newpath, exactly one succeeds.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS {
		// The file system has no RENAME_NOREPLACE (NFS, some FUSE). Plain
		// rename still never replaces here: the target would be a version,
		// a folder holding at least its asset manifest, and rename(2) fails
		// with ENOTEMPTY on a non-empty folder (os.Rename also refuses an
		// existing empty one).
		return os.Rename(oldpath, newpath)
	}
	if err != nil {
		return &os.LinkError{Op: "renameat2", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}
