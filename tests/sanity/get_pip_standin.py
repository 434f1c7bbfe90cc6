# -*- coding: utf-8 -*-
"""A stand-in for the get-pip.py script ansible-test downloads.

ansible-test bootstraps pip into the empty virtual environments of its
sanity tests with a get-pip.py fetched from ci-files.testing.ansible.com,
which the project's machines cannot reach (only PyPI is reachable).
scripts/test copies this file to the place ansible-test caches that script
(~/.ansible/test/cache/get_pip_<version>.py). It does the same job from the
standard library's ensurepip and PyPI: install pip, then the packages
ansible-test asks for (pip==<version>).
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know
_GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in _GET_PIP_ONLY]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args)


if __name__ == '__main__':
    main()
