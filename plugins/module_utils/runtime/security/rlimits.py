# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""process.rlimits."""

import resource

from .. import errors
from ..spec.config import RLIMITS


def apply(rlimits, pid=0):
    """Set each rlimit on `pid` (0: this process); no process can raise a hard limit without CAP_SYS_RESOURCE."""
    for index, rlimit in enumerate(rlimits or []):
        number = RLIMITS[rlimit['type']]
        try:
            resource.prlimit(pid, number, (rlimit['soft'], rlimit['hard']))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, 'strerror', None) or str(exc)
            raise errors.ConfigError('process.rlimits[%d]' % index,
                                     'error setting rlimit type %d (%s soft=%d hard=%d): %s; '
                                     'a hard limit cannot be raised above the caller\'s (see `ulimit -H`)'
                                     % (number, rlimit['type'], rlimit['soft'], rlimit['hard'], reason.lower()))
