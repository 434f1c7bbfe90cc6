# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the vendored runtime importable as the top-level package `runtime` (as bin/runcible does)."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_MODULE_UTILS = os.path.join(_HERE, *(['..'] * 6), 'plugins', 'module_utils')
if os.path.normpath(_MODULE_UTILS) not in sys.path:
    sys.path.insert(0, os.path.normpath(_MODULE_UTILS))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
