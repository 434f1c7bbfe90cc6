# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One exception hierarchy for the runtime.

Every error the runtime raises on purpose is a RuntimeErrorBase. The CLI turns
them into runc-style log lines and exit codes; the modules turn them into
fail_json(msg=...). Messages are written for the person who has to fix the
input: they name the field and, where it helps, the fix.
"""


class RuntimeErrorBase(Exception):
    """Base of every error the runtime raises on purpose."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class ContainerNotExist(RuntimeErrorBase):
    """The container ID has no state under the root directory."""

    def __init__(self, container_id=None):
        super().__init__('container does not exist')
        self.container_id = container_id


class ContainerExists(RuntimeErrorBase):
    """create/run was given an ID that is already in use."""

    def __init__(self, container_id=None):
        super().__init__('container with given ID already exists')
        self.container_id = container_id


class InvalidContainerID(RuntimeErrorBase):
    """The ID has characters runc does not allow, or is '.'/'..'."""

    def __init__(self, container_id=None):
        super().__init__('invalid container ID format')
        self.container_id = container_id


class ConfigError(RuntimeErrorBase):
    """config.json (or the bundle) is invalid; `field` is the JSON path at fault."""

    def __init__(self, field, message):
        text = '%s: %s' % (field, message) if field else message
        super().__init__(text)
        self.field = field
        self.reason = message


class StateError(RuntimeErrorBase):
    """The container is not in a status that allows the operation."""


class ContainerNotRunning(StateError):
    def __init__(self):
        super().__init__('container not running')


class ContainerCreating(StateError):
    """The container's create has not returned yet: it has no init to signal or join."""

    def __init__(self):
        super().__init__('container is still being created: try again once its create has returned')


class SetupError(RuntimeErrorBase):
    """Creating the container failed on the host (a mount, a namespace, a hook...)."""


class HookError(SetupError):
    """A hook that must succeed failed."""


class CgroupError(SetupError):
    """A cgroup could not be created, joined, limited or removed."""


class CriuError(RuntimeErrorBase):
    """CRIU is missing, unusable, or a dump/restore failed."""


class UsageError(RuntimeErrorBase):
    """Bad command line: wrong flags or arguments."""


def strerror(exc):
    """An OSError's reason as Go (and so runc) words it: "no such file or directory"."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def describe(exc):
    """A one-line reason for `exc`, without Python's "[Errno N]" noise."""
    if isinstance(exc, RuntimeErrorBase):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename:
            text = '%s: %s' % (exc.filename, text)
        return text
    return str(exc) or exc.__class__.__name__
