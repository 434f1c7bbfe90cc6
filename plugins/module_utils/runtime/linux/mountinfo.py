# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading /proc/self/mountinfo."""


def unescape(field):
    """A path field of mountinfo with its octal escapes (space, tab, newline, backslash) undone."""
    return field.replace('\\040', ' ').replace('\\011', '\t').replace('\\012', '\n').replace('\\134', '\\')
