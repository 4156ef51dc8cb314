//go:build unix

package tokens

import (
	"io/fs"
	"syscall"
)

// inode returns the file's inode, which changes when an editor replaces the
// file by renaming a new one over it.
func inode(st fs.FileInfo) any {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino
	}
	return nil
}
