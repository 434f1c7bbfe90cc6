# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing cgroup interface files, with errors that name the spec field.

Every write the drivers make goes through a CgroupFiles object, so unit tests
can hand the drivers a recording stand-in and check which files get which
values in which order, without a cgroup file system.
"""

import errno
import os
import time

from .. import errors


class CgroupFieldError(errors.CgroupError):
    """The host cannot apply one value of linux.resources.

    `field` is the JSON path of the value (`linux.resources.memory.swap`).
    """

    def __init__(self, field, message):
        super().__init__('%s: %s' % (field, message) if field else message)
        self.field = field
        self.reason = message


class CgroupFiles:
    """The real cgroup file system."""

    def read(self, directory, name):
        """Content of `directory/name`, or raise OSError."""
        with open(os.path.join(directory, name)) as handle:
            return handle.read()

    def write(self, directory, name, value):
        """Write `value` in one write(2), without creating the file."""
        fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def exists(self, directory, name):
        return os.path.exists(os.path.join(directory, name))


def write_field(files, directory, name, value, field):
    """Write one value; a refusal becomes a CgroupFieldError naming `field` and the file."""
    value = str(value)
    try:
        files.write(directory, name, value)
    except OSError as exc:
        raise field_error(field, directory, name, value, exc)


def field_error(field, directory, name, value, exc):
    """The CgroupFieldError for a failed write of `value` to `directory/name`."""
    return CgroupFieldError(field, describe_write_error(directory, name, str(value), exc))


def describe_write_error(directory, name, value, exc):
    """A sentence saying which write failed and what usually causes that error."""
    path = os.path.join(directory, name)
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT:
        if not os.path.isdir(directory):
            return 'cannot write %r to %s: the cgroup directory does not exist' % (value, path)
        return 'cannot write %r to %s: this kernel has no %s file (the controller or feature is not available)' % (value, path, name)
    if exc.errno == errno.EINVAL:
        return 'cannot write %r to %s: the kernel refused the value (%s)' % (value, path, reason)
    return 'cannot write %r to %s: %s' % (value, path, reason)


def read_text(files, directory, name):
    """Stripped content of a cgroup file, or None if it does not exist."""
    try:
        return files.read(directory, name).strip()
    except FileNotFoundError:
        return None


def read_uint(files, directory, name):
    """A single-number file as int: 'max' is 2**64-1, a missing file raises OSError."""
    return parse_uint(files.read(directory, name).strip())


def parse_uint(text):
    """runc's ParseUint: 'max' is the largest uint64, negative numbers clamp to 0."""
    if text == 'max':
        return 2 ** 64 - 1
    value = int(text)
    return value if value > 0 else 0


def read_key_values(files, directory, name):
    """A flat-keyed file ('key value' lines) as {key: int}; {} if the file does not exist."""
    try:
        content = files.read(directory, name)
    except FileNotFoundError:
        return {}
    found = {}
    for line in content.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                found[parts[0]] = parse_uint(parts[1])
            except ValueError:
                continue
    return found


def join(dirs, pid):
    """Move process `pid` into the cgroups `dirs` ({controller: folder}, as a state records them), each folder once.

    Here rather than in the cgroup manager: `exec` joins a container's cgroups and needs none of the rest.
    """
    for directory in unique_dirs(dirs):
        write_pid(directory, pid)


def unique_dirs(dirs):
    """The folders of `dirs` ({controller: folder}), each once, in a stable order (controllers share folders on v1)."""
    return sorted(set(dirs.values()))


def write_pid(directory, pid):
    """Write to cgroup.procs; EINVAL can mean the task is still being forked (TASK_NEW), so retry a little (runc too)."""
    for attempt in range(5):
        try:
            with open(os.path.join(directory, 'cgroup.procs'), 'w') as handle:
                handle.write(str(pid))
            return
        except OSError as exc:
            if exc.errno != errno.EINVAL or attempt == 4:
                raise errors.CgroupError('cannot add process %d to cgroup %s: %s' % (pid, directory, exc.strerror or exc))
            time.sleep(0.03)
