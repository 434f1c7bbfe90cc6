# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings shared by every pytest stage (unit and system).

Property tests draw the same examples on every run (hypothesis' derandomize),
so that a CI run can be reproduced and never fails on a new draw alone. Set
RUNCIBLE_HYPOTHESIS=explore to draw new random examples when hunting for
bugs; that is how the profile libseccomp loops forever on was found
(docs/seccomp.md).
"""

import os

try:
    from hypothesis import settings
except ImportError:  # the system stage can run without hypothesis
    settings = None

if settings is not None:
    settings.register_profile('reproducible', derandomize=True, database=None)
    settings.register_profile('explore')
    settings.load_profile('explore' if os.environ.get('RUNCIBLE_HYPOTHESIS') == 'explore' else 'reproducible')
