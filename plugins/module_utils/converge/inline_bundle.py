# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""oci_container's `bundle_options`: the bundle made by oci_bundle's own logic, in the same task.

`bundle_options` takes every option of oci_bundle except `path` (it is the
container's `bundle`) and `state` (the bundle is made whenever the container
is wanted; removing a container leaves its bundle). The options are checked
with Ansible's validator against oci_bundle's argument spec, so a typo fails
as it would in oci_bundle, with the option's path under `bundle_options`.
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ..runtime.errors import ConfigError, RuntimeErrorBase
from . import bundle_options
from .bundle import ensure_bundle
from .failures import failure_message

FIELD = 'bundle_options'
# Options oci_container decides itself.
HANDLED = ('path', 'state')


def validated(options, field=FIELD):
    """oci_bundle's parameters from `options` (defaults filled); ConfigError naming `field` when they are wrong."""
    if not isinstance(options, dict):
        raise ConfigError(field, 'must be a mapping of oci_bundle options, not %s' % type(options).__name__)
    for name in HANDLED:
        if name in options:
            raise ConfigError('%s.%s' % (field, name), 'is set by oci_container (%s)'
                              % ('the container\'s bundle' if name == 'path' else 'the bundle is made whenever the '
                                 'container is wanted'))
    spec = {name: declared for name, declared in bundle_options.module_argument_spec().items() if name not in HANDLED}
    result = ArgumentSpecValidator(spec, required_one_of=[('image', 'rootfs')]).validate(dict(options))
    if result.error_messages:
        raise ConfigError(field, '; '.join(('unsupported options: %s' % error) if type(error).__name__ == 'UnsupportedError'
                                           else str(error) for error in result.errors.errors))
    return result.validated_parameters


def converge(path, options, check_mode=False, field=FIELD):
    """Converge the bundle at `path` to `options` as oci_bundle does; its result (config, digests, diff)."""
    params = validated(options, field)
    params['path'] = path
    params['state'] = 'present'
    try:
        return ensure_bundle(params, check_mode=check_mode, diff=True)
    except ConfigError as exc:
        raise ConfigError('%s.%s' % (field, exc.field) if exc.field else field, exc.reason)
    except (RuntimeErrorBase, OSError) as exc:
        raise ConfigError(field, failure_message(exc))
