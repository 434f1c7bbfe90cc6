# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paths resolved inside a root directory as if it were "/", race-free: the one helper for it.

Mount destinations, device paths and masked paths (rootfs set-up), layer
entries, hardlink targets and whiteouts (image unpacking), checkpoint
archive members and the files the modules read from a rootfs all name paths
that a user or an image author chose, inside a tree where earlier entries or
a running container may have planted symlinks anywhere. Every one of them
is resolved here, the same way:

- one component at a time from an fd of the root, with
  openat(O_NOFOLLOW): the kernel never follows a symlink or ".." on its own;
- a symlink is read with readlinkat and interpreted as if the root were "/"
  (an absolute target restarts at the root, ".." climbs back along the
  directories actually walked, never above the root). `strict` refuses
  instead what would climb above the root (EscapeError), as mount
  destinations must; `follow=False` refuses any symlink in the path, as a
  checkpoint archive (which never has one) must;
- callers then act on what was checked and nothing else: a single name
  relative to a directory fd (mkdirat, openat(O_EXCL | O_NOFOLLOW),
  linkat, unlinkat...), or an O_PATH fd whose /proc/self/fd magic link
  names exactly the checked object (mount(2) targets). A directory swapped
  for a symlink between check and use cannot redirect them
  (CVE-2021-30465).

Paths in RootDir are tuples of byte strings: layer names are bytes, whatever
the locale, and a tuple cannot hide "." or ".." once `split_path` has cleaned
it. `open_in_root` takes the str paths of config.json.
"""

import errno
import os
import stat

from ..linux import consts

MAX_SYMLINKS = 40
# Linux's PATH_MAX: no legitimate path is longer, and a bound keeps hostile
# layers from making resolution cost grow without limit.
PATH_MAX = 4096
NAME_MAX = 255

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Walking needs only search permission on each directory, not read permission.
_PATH_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE_LIMIT = 256


class EscapeError(OSError):
    """The path climbs out of the root through '..' or a symlink."""

    def __init__(self, path, via):
        super().__init__(errno.EXDEV, '%s resolves outside the root filesystem (through %s)' % (path, via))
        self.via = via


def split_path(name):
    """(parts, climbed) of an entry path as the root's own path: "/a/./b//c" -> (b'a', b'b', b'c').

    ".." is resolved lexically and stops at the root, as it would in a
    chroot; `climbed` says whether it tried to go above. Raises ValueError for
    paths longer than PATH_MAX or with a NUL byte.
    """
    if isinstance(name, str):
        name = name.encode('utf-8', 'surrogateescape')
    if len(name) > PATH_MAX:
        raise ValueError('path is %d bytes long, more than PATH_MAX (%d)' % (len(name), PATH_MAX))
    if b'\0' in name:
        raise ValueError('path contains a NUL byte')
    parts = []
    climbed = False
    for part in name.split(b'/'):
        if not part or part == b'.':
            continue
        if part == b'..':
            if parts:
                parts.pop()
            else:
                climbed = True
            continue
        if len(part) > NAME_MAX:
            raise ValueError('path component is %d bytes long, more than NAME_MAX (%d)' % (len(part), NAME_MAX))
        parts.append(part)
    return tuple(parts), climbed


def display(parts):
    """A path tuple as "/a/b" for messages."""
    return '/' + b'/'.join(parts).decode('utf-8', 'replace')


def _climbs_above(depth, target):
    """True if relative symlink `target`, read at `depth` directories below the root, climbs above it."""
    for part in target.split(b'/'):
        if part == b'..':
            depth -= 1
            if depth < 0:
                return True
        elif part and part != b'.':
            depth += 1
    return False


class Dir:
    """An open directory of the root: its fd and its physical path (no symlinks in it)."""

    __slots__ = ('fd', 'path')

    def __init__(self, fd, path):
        self.fd = fd
        self.path = path


class Missing:
    """What a union view says about a name missing from this layer's directory.

    kind is 'symlink' (follow `target`), 'dir' (a directory to create here
    with `info`, an os.stat_result of the lower one), 'file' (anything else:
    not a directory) or 'absent'.
    """

    __slots__ = ('kind', 'target', 'info')

    def __init__(self, kind, target=None, info=None):
        self.kind = kind
        self.target = target
        self.info = info


ABSENT = Missing('absent')


class RootDir:
    """A directory tree (`root`: a path or an fd) whose paths are only ever resolved inside it.

    `lower` is an optional callable (physical path tuple) -> Missing, asked
    when a component is missing here: an overlay layer being unpacked uses it
    to see through to the layers below. `make_dir(parent, name, info)`, if
    given, makes each missing directory instead of a plain mkdir (info is
    the lower directory's stat, or None). `strict` and `follow` as the module
    says; `path_only` walks with O_PATH fds (search permission is enough, but
    the fds cannot be read: no scandir on them).
    """

    def __init__(self, root, lower=None, make_dir=None, strict=False, follow=True, path_only=False):
        self._dir_flags = _PATH_DIR_FLAGS if path_only else _DIR_FLAGS
        if isinstance(root, int):
            self.path = None
            self.fd = os.dup(root) if path_only else os.open('.', self._dir_flags, dir_fd=root)
        else:
            self.path = root
            # The root itself is the caller's (/proc/<pid>/root is a link): only what is inside it is hostile.
            self.fd = os.open(root, self._dir_flags & ~os.O_NOFOLLOW)
        self.root = Dir(self.fd, ())
        self._lower = lower
        self._make_dir = make_dir
        self._strict = strict
        self._follow = follow
        self._cache = {}
        self._retired = []

    def close(self):
        self.forget()
        self.trim(0)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def forget(self):
        """Stop trusting cached directories: call after removing or replacing a directory or symlink.

        Their fds stay open until trim(), because the caller may still be
        working in one of them (the parent of what it just replaced).
        """
        self._retired.extend(self._cache.values())
        self._cache.clear()

    def trim(self, limit=_CACHE_LIMIT):
        """Close forgotten fds, and the whole cache past `limit` entries; call between entries."""
        for entry in self._retired:
            os.close(entry.fd)
        self._retired = []
        if len(self._cache) > limit:
            for entry in self._cache.values():
                os.close(entry.fd)
            self._cache.clear()

    def lookup(self, parts, create=False):
        """The Dir that `parts` (a clean path tuple) resolves to inside the root.

        Missing directories are made when `create` is true (mode 0755), else
        FileNotFoundError. A component that is neither a directory nor a
        symlink gives NotADirectoryError; more than MAX_SYMLINKS symlinks,
        OSError(ELOOP).
        """
        if not parts:
            return self.root
        cached = self._cache.get(parts)
        if cached is not None:
            return cached
        if len(parts) > 64:
            # Deep paths resolve in one loop rather than one recursion per level.
            found = self._walk(parts, 'dir' if create else None)
        else:
            found = self._step(self.lookup(parts[:-1], create), parts[-1], create)
            if not isinstance(found, Dir):
                # A symlink (here or in a lower layer): resolve from the root,
                # where ".." in its target can climb back up.
                found = self._walk(parts, 'dir' if create else None)
        self._cache[parts] = found
        return found

    def open(self, path, create=None):
        """An O_PATH fd of what `path` (names, ".." allowed) resolves to, the last symlink followed too.

        `create` makes what is missing: None (nothing: FileNotFoundError),
        'dir' (every missing component a directory) or 'file' (parents as
        directories, the last an empty file).
        """
        return self._walk(tuple(path), create, last=True)

    def _step(self, parent, name, create):
        """Dir of directory `name` in `parent`, or the target (bytes) of the symlink to follow there."""
        try:
            return Dir(os.open(name, self._dir_flags, dir_fd=parent.fd), parent.path + (name,))
        except FileNotFoundError:
            missing = self._lower(parent.path + (name,)) if self._lower else ABSENT
            if missing.kind == 'symlink':
                return missing.target
            if missing.kind == 'file':
                raise NotADirectoryError(errno.ENOTDIR, '%s is not a directory' % display(parent.path + (name,)))
            if not create:
                raise
            self._mkdir(parent, name, missing.info)
            return Dir(os.open(name, self._dir_flags, dir_fd=parent.fd), parent.path + (name,))
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            target = self._readlink(parent, name)
            if target is None:
                raise NotADirectoryError(errno.ENOTDIR, '%s is not a directory' % display(parent.path + (name,)))
            return target

    def _last(self, parent, name, create):
        """An O_PATH fd of `name` in `parent` (made as `create` says if missing), or the target of its symlink."""
        try:
            fd = os.open(name, _PATH_FLAGS, dir_fd=parent.fd)
        except FileNotFoundError:
            if create is None:
                raise
            if create == 'dir':
                self._mkdir(parent, name, None)
            else:
                try:
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                                     dir_fd=parent.fd))
                except FileExistsError:
                    pass
            fd = os.open(name, _PATH_FLAGS, dir_fd=parent.fd)
        if not stat.S_ISLNK(os.fstat(fd).st_mode):
            return fd
        os.close(fd)
        return os.readlink(name, dir_fd=parent.fd)

    def _mkdir(self, parent, name, info):
        try:
            if self._make_dir:
                self._make_dir(parent, name, info)
            else:
                os.mkdir(name, 0o755, dir_fd=parent.fd)
        except FileExistsError:
            pass

    def _readlink(self, parent, name):
        """The target of symlink `name` in `parent` (bytes), or None if it is not a symlink."""
        try:
            return os.readlink(name, dir_fd=parent.fd)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                return None
            raise

    def resolve(self, path):
        """The physical path (a tuple) `path` (names, ".." allowed) names, symlinks followed; touches nothing.

        From the first component that is missing or not a directory on, the
        rest is taken as written (".." lexically).
        """
        return self._walk(tuple(path), None, as_written=True)

    def _walk(self, parts, create, last=False, as_written=False):
        """Resolve `parts` from the root, following symlinks inside it; nothing cached.

        Returns the Dir it names or, with `last`, an O_PATH fd of whatever
        its last component is, or with `as_written` its physical path.
        """
        stack = [self.root]
        pending = list(reversed(parts))
        links = 0
        try:
            while pending:
                name = pending.pop()
                if name == b'..':
                    if len(stack) > 1:
                        os.close(stack.pop().fd)
                    elif self._strict:
                        raise EscapeError(display(parts), "'..'")
                    continue
                if last and not pending:
                    step = self._last(stack[-1], name, create)
                    if isinstance(step, int):
                        return step
                else:
                    try:
                        step = self._step(stack[-1], name, create is not None)
                    except (FileNotFoundError, NotADirectoryError):
                        if not as_written:
                            raise
                        return self._as_written(stack[-1].path + (name,), reversed(pending), parts)
                    if isinstance(step, Dir):
                        stack.append(step)
                        continue
                target = step
                where = display(stack[-1].path + (name,))
                if not self._follow:
                    raise OSError(errno.ELOOP, '%s is a symlink' % where)
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, 'too many levels of symbolic links resolving %s' % display(parts))
                if target.startswith(b'/'):
                    while len(stack) > 1:
                        os.close(stack.pop().fd)
                elif self._strict and _climbs_above(len(stack) - 1, target):
                    raise EscapeError(display(parts), 'symlink %s -> %s' % (where, target.decode('utf-8', 'replace')))
                pending.extend(reversed([p for p in target.split(b'/') if p and p != b'.']))
            if last:
                return os.dup(stack[-1].fd)
            if as_written:
                return stack[-1].path
            found = stack.pop()
            if found is self.root:
                return Dir(os.dup(self.fd), ())
            return found
        finally:
            for entry in stack[1:]:
                os.close(entry.fd)

    def _as_written(self, base, rest, parts):
        names = list(base)
        for name in rest:
            if name != b'..':
                names.append(name)
            elif names:
                names.pop()
            elif self._strict:
                raise EscapeError(display(parts), "'..'")
        return tuple(names)

    def open_file(self, parts, max_links=MAX_SYMLINKS):
        """An O_RDONLY fd of the regular file at `parts`, following symlinks (the last one too) inside the root.

        FileNotFoundError if it is missing; OSError(ELOOP) on a loop; a
        FIFO, device or directory there gives OSError(EINVAL) rather than a
        read that blocks or touches a device.
        """
        for _unused in range(max_links + 1):
            if not parts:
                raise IsADirectoryError(errno.EISDIR, 'the root is a directory')
            parent = self.lookup(parts[:-1])
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent.fd)
            except OSError as exc:
                if exc.errno != errno.ELOOP or not self._follow:
                    raise
                target = os.readlink(parts[-1], dir_fd=parent.fd)
                base = b'' if target.startswith(b'/') else b'/'.join(parent.path)
                parts, _unused = split_path(base + b'/' + target)
                continue
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, '%s is not a regular file' % display(parts))
            return fd
        raise OSError(errno.ELOOP, 'too many levels of symbolic links')

    def open_physical(self, path):
        """An fd of the directory at physical path `path`, following no symlink at all."""
        fd = os.dup(self.fd)
        try:
            for name in path:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd


def remove_tree(parent_fd, name):
    """Remove `name` in directory `parent_fd`, and everything below it if it is a directory.

    Only fds and single names are used, symlinks are removed and never
    followed, and one fd is held at a time (".." is checked against the
    device and inode we came from), so deep or hostile trees cannot lead
    anywhere else or exhaust file descriptors. Missing is fine.
    """
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=parent_fd)
        return
    top = os.fstat(parent_fd)
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    names = [name]
    parents = [(top.st_dev, top.st_ino)]
    try:
        while names:
            subdir = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        subdir = entry.name
                        break
                    os.unlink(entry.name, dir_fd=fd)
            if subdir is not None:
                here = os.fstat(fd)
                child = os.open(subdir, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(subdir)
                parents.append((here.st_dev, here.st_ino))
                continue
            if len(names) == 1:
                os.close(fd)
                fd = -1
                os.rmdir(name, dir_fd=parent_fd)
                return
            up = os.open('..', _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            seen = os.fstat(fd)
            if (seen.st_dev, seen.st_ino) != parents[-1]:
                raise OSError(errno.EXDEV, 'directory moved while it was being removed: %s' % names[-1])
            os.rmdir(names.pop(), dir_fd=fd)
            parents.pop()
    finally:
        if fd >= 0:
            os.close(fd)


def open_in_root(root, path, create=None, strict=True):
    """An O_PATH fd of `path` resolved inside `root` (a path or an fd).

    `create` makes what is missing: None (nothing: FileNotFoundError),
    'dir' (every missing component a directory) or 'file' (parents as
    directories, the last an empty file). With `strict`, a ".." or a symlink
    that would climb above the root raises EscapeError instead of stopping
    at the root as the kernel does for chroot. Unlike split_path, ".." is
    taken after the symlinks before it, as the kernel would.
    """
    parts = [part for part in os.fsencode(path).split(b'/') if part and part != b'.']
    with RootDir(root, strict=strict, path_only=True) as tree:
        return tree.open(parts, create)


def check_in_root(root, path):
    """Raise EscapeError if `path` inside `root` would climb out; touch nothing.

    Missing components are fine (they would be created); this is the check
    that runs before anything is changed on the host.
    """
    resolve_in_root(root, path)


def resolve_in_root(root, path):
    """The container path ('/proc/sys') that `path` names inside `root`, symlinks followed as open_in_root does.

    Touches nothing: from the first component that is missing (or not a
    directory) on, the rest is taken as written. EscapeError if it would
    climb out of `root`; OSError(ELOOP) for a symlink loop.
    """
    if _climbs_above(0, os.fsencode(path)):
        raise EscapeError(path, "'..'")
    parts = [part for part in os.fsencode(path).split(b'/') if part and part != b'.']
    with RootDir(root, strict=True, path_only=True) as tree:
        return os.fsdecode(b'/' + b'/'.join(tree.resolve(parts)))


def fd_path(fd):
    """The magic link naming open file `fd` (for mount(2) targets and sources)."""
    return '/proc/self/fd/%d' % fd


def is_procfs(path='/proc'):
    """True if `path` is a procfs mount (not something planted in its place)."""
    from ..linux import syscalls
    try:
        return syscalls.fs_type(path) == consts.PROC_SUPER_MAGIC
    except OSError:
        return False
