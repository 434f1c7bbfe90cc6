# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for the get-pip.py script ansible-test downloads.

ansible-test creates each sanity test's virtualenv without pip and bootstraps
pip into it with a get-pip.py fetched from ci-files.testing.ansible.com, which
the project's machines cannot reach (only PyPI is). It looks in its cache
first, so scripts/test copies this file there
(~/.ansible/test/cache/get_pip_<version>.py). Run inside the new virtualenv
with get-pip.py's arguments (pip==<version> and options), it does the same
job from the standard library's ensurepip and PyPI.
"""

import subprocess
import sys

# Options only get-pip.py knows: it would otherwise also install them.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main():
    """Install pip with ensurepip, then what ansible-test asked for from PyPI."""
    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + arguments)


if __name__ == '__main__':
    main()
