# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a managed host offers the collection: kernel features, runtimes, CRIU (oci_host_info)."""
