# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syscall tables per ABI, generated from libseccomp by hack/gen_syscall_tables.py."""
