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
        # Missing means 0, as the runtime-spec's Go types read it (validation agrees).
        soft, hard = rlimit.get('soft', 0), rlimit.get('hard', 0)
        try:
            resource.prlimit(pid, number, (_kernel_value(soft), _kernel_value(hard)))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, 'strerror', None) or str(exc)
            raise errors.ConfigError('process.rlimits[%d]' % index,
                                     'error setting rlimit type %d (%s soft=%d hard=%d): %s; '
                                     'a hard limit cannot be raised above the caller\'s (see `ulimit -H`)'
                                     % (number, rlimit['type'], soft, hard, reason.lower()))


def _kernel_value(value):
    """`value` for resource.prlimit: 18446744073709551615 ("unlimited" in configs) does not fit its C long.

    The kernel's RLIM_INFINITY is that number, which Python spells -1; any
    limit from 2**63 up is beyond what the kernel can count against anyway.
    """
    return resource.RLIM_INFINITY if value >= 1 << 63 else value
