# -*- coding: utf-8 -*-
"""Fixtures for system tests (helpers live in systemlib.py)."""

import os

import pytest

from systemlib import BUSYBOX, Bundle, make_rootfs, runtime_factory

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason='system tests start real containers and need root')
    for item in items:
        if str(item.fspath).startswith(HERE):
            item.add_marker(skip)


@pytest.fixture(scope='session')
def busybox_template(tmp_path_factory):
    if not os.path.exists(BUSYBOX):
        pytest.skip('busybox-static is not installed (apt-get install busybox-static)')
    path = str(tmp_path_factory.mktemp('template') / 'rootfs')
    make_rootfs(path)
    return path


@pytest.fixture
def make_bundle(tmp_path, busybox_template):
    counter = [0]

    def factory():
        counter[0] += 1
        path = str(tmp_path / ('bundle%d' % counter[0]))
        os.makedirs(path)
        return Bundle(path, busybox_template)
    return factory


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()


@pytest.fixture
def runcible(tmp_path):
    runtime = runtime_factory('runcible', str(tmp_path / 'runcible-root'))
    yield runtime
    runtime.cleanup()
    assert runtime.ids() == []


@pytest.fixture
def runc(tmp_path):
    runtime = runtime_factory('runc', str(tmp_path / 'runc-root'))
    yield runtime
    runtime.cleanup()


@pytest.fixture
def crun(tmp_path):
    runtime = runtime_factory('crun', str(tmp_path / 'crun-root'))
    yield runtime
    runtime.cleanup()


@pytest.fixture(params=['runcible', 'runc'])
def any_runtime(request, tmp_path):
    runtime = runtime_factory(request.param, str(tmp_path / (request.param + '-root')))
    yield runtime
    runtime.cleanup()


@pytest.fixture
def pair(tmp_path):
    """(runcible, runc), each with its own --root; both cleaned up after the test."""
    runtimes = [runtime_factory(name, str(tmp_path / (name + '-root'))) for name in ('runcible', 'runc')]
    yield runtimes
    for runtime in runtimes:
        runtime.cleanup()
