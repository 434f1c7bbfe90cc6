# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a bundle's config.json only when its content changes, atomically, with a before/after for diffs."""

import json
import os
import tempfile


def render(config):
    """The config.json text this project writes: sorted keys, two-space indent, final newline."""
    return json.dumps(config, indent=2, sort_keys=True) + '\n'


def read_config(bundle):
    """The parsed config.json of `bundle`, or None when there is none (or it is not JSON)."""
    try:
        with open(os.path.join(bundle, 'config.json')) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_config(bundle, config, check_mode=False):
    """(changed, before, after): before/after are the old and new texts ('' when absent), for diff mode.

    Compares parsed content, not bytes, so a config.json written by another
    tool with other formatting but the same content is left alone.
    """
    path = os.path.join(bundle, 'config.json')
    before = read_config(bundle)
    after_text = render(config)
    before_text = render(before) if before is not None else ''
    if before == json.loads(after_text):
        return False, before_text, after_text
    if not check_mode:
        os.makedirs(bundle, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix='.config-', dir=bundle)
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(after_text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.rename(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    return True, before_text, after_text
