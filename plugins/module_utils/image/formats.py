# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forms an image can be imported from (oci_image's import_format, oci_bundle's rootfs_format).

Apart from importers.py so that a module can offer them as choices without importing the
importers (tarfile and the decompressors), which a pull or a no-op never uses.
"""

FORMATS = ('docker-archive', 'oci-archive', 'oci-dir', 'rootfs', 'dir')
