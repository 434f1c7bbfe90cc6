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
    description:
      - Use C(group/runcible.oci.oci) in C(module_defaults) to set defaults for every module of the group that a play or
        block calls. Each of those modules receives all of the group's options and refuses one it does not have, so
        the group holds what they all take (C(runtime) and C(runtime_root) for the container modules); give other
        options per module. See docs/awx.md in the collection.
    support: full
    membership:
      - runcible.oci.oci
'''

    INFO = r'''
attributes:
  check_mode:
    support: full
    description: It only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: It never changes anything.
'''
