# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of oci_image: the same as oci_container's (the module loads its code from the host's copy)."""

from ansible_collections.runcible.oci.plugins.action.oci_container import ActionModule  # noqa: F401 pylint: disable=unused-import
