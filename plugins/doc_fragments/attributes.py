# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """Attributes the collection's modules declare beyond ansible.builtin.action_common_attributes."""

    DOCUMENTATION = r'''
attributes:
  idempotent:
    description:
      - When run a second time with the same parameters and nothing else changed the target, the module reports
        C(changed=false) and changes nothing.
'''

    ACTIONGROUP = r'''
attributes:
  action_group:
    description: Use C(group/runcible.oci.oci) in C(module_defaults) to set defaults (a C(store), registry credentials) for every module of the group.
    support: full
    membership:
      - runcible.oci.oci
'''
