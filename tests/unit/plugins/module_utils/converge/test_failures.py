# -*- coding: utf-8 -*-
"""Failure messages name the module parameter at fault."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.converge.failures import about, failure_message
from ansible_collections.runcible.oci.plugins.module_utils.image.errors import ArchiveError, AuthError
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError


def test_errors_are_tagged_with_the_parameter():
    with pytest.raises(ArchiveError) as caught:
        with about('import_from'):
            raise ArchiveError('/x is not a tar archive')
    assert failure_message(caught.value) == 'import_from: /x is not a tar archive'


def test_a_more_specific_parameter_by_error_type():
    with pytest.raises(AuthError) as caught:
        with about('name', ((AuthError, 'username/password'),)):
            raise AuthError('the registry refused the credentials')
    assert failure_message(caught.value) == 'username/password: the registry refused the credentials'


def test_the_innermost_parameter_wins():
    with pytest.raises(ArchiveError) as caught:
        with about('name'):
            with about('import_from'):
                raise ArchiveError('broken')
    assert failure_message(caught.value).startswith('import_from: ')


def test_config_errors_keep_their_own_field():
    with pytest.raises(ConfigError) as caught:
        with about('image'):
            raise ConfigError('process.rlimits[0].soft', 'must be an integer')
    assert failure_message(caught.value) == 'process.rlimits[0].soft: must be an integer'


def test_os_errors_say_which_file():
    with pytest.raises(OSError) as caught:
        with about('path'):
            open('/nonexistent/runcible/x')
    assert failure_message(caught.value) == 'path: /nonexistent/runcible/x: No such file or directory'


def test_a_permission_error_of_a_user_other_than_root_says_what_to_do():
    """Run as another user (the effective user switched for real), a refused file names the fix; as root it does not."""
    import errno
    import os
    import pwd
    denied = PermissionError(errno.EACCES, 'Permission denied', '/run/runcible-supervisor/web')
    if os.geteuid() != 0:
        pytest.skip('needs root to switch to another user')
    assert failure_message(denied) == '/run/runcible-supervisor/web: Permission denied'
    nobody = pwd.getpwnam('nobody')
    os.seteuid(nobody.pw_uid)
    try:
        message = failure_message(denied)
    finally:
        os.seteuid(0)
    assert message.startswith('/run/runcible-supervisor/web: Permission denied (the module runs as user %d, not root'
                              % nobody.pw_uid)
    assert 'become: true' in message
