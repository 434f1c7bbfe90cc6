# -*- coding: utf-8 -*-
"""config.json from runc's defaults, the image config and snake_case options."""

import os

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.bundle import config as C
from ansible_collections.runcible.oci.plugins.module_utils.bundle.validate import validate_config
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import ConfigError
from ansible_collections.runcible.oci.plugins.module_utils.runtime.spec.default import default_spec

IMAGE = {
    'os': 'linux', 'architecture': 'amd64', 'created': '2024-01-01T00:00:00Z', 'author': 'me',
    'config': {
        'Entrypoint': ['/usr/local/bin/app'], 'Cmd': ['--serve'], 'Env': ['PATH=/usr/local/bin:/bin', 'MODE=prod'],
        'WorkingDir': '/srv', 'User': 'app', 'Labels': {'team': 'core', 'org.opencontainers.image.author': 'label wins'},
        'StopSignal': 'SIGQUIT', 'ExposedPorts': {'8080/tcp': {}, '53/udp': {}}, 'Volumes': {'/var/lib/app': {}},
    },
}


@pytest.fixture
def rootfs(tmp_path):
    root = tmp_path / 'rootfs'
    (root / 'etc').mkdir(parents=True)
    (root / 'etc' / 'passwd').write_text('root:x:0:0:root:/root:/bin/sh\napp:x:101:201:app:/home/app:/bin/sh\n'
                                         'svc:x:102:202::/var/svc:/bin/sh\n')
    (root / 'etc' / 'group').write_text('root:x:0:\napp:x:201:\nstaff:x:50:app,svc\nwheel:x:10:app\n')
    return str(root)


def generate(rootfs, **options):
    return C.generate_config(IMAGE, rootfs, options)


def test_defaults_are_runc_spec_for_services(rootfs):
    config = C.generate_config(None, rootfs, {})
    runc = default_spec()
    for key in ('mounts', 'linux', 'ociVersion', 'hostname'):
        assert config[key] == runc[key]
    assert config['process']['capabilities'] == runc['process']['capabilities']
    assert config['process']['rlimits'] == [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}]
    assert config['process']['noNewPrivileges'] is True
    assert config['process']['terminal'] is False and config['root']['readonly'] is False
    assert validate_config(config) == []


def test_image_config_conversion(rootfs):
    config = generate(rootfs)
    process = config['process']
    assert process['args'] == ['/usr/local/bin/app', '--serve']
    assert process['cwd'] == '/srv'
    assert process['user'] == {'uid': 101, 'gid': 201, 'additionalGids': [50, 10]}
    assert process['env'] == ['PATH=/usr/local/bin:/bin', 'TERM=xterm', 'MODE=prod', 'HOME=/home/app']
    notes = config['annotations']
    assert notes['team'] == 'core'
    assert notes['org.opencontainers.image.author'] == 'label wins'
    assert notes['org.opencontainers.image.stopSignal'] == 'SIGQUIT'
    assert notes['org.opencontainers.image.exposedPorts'] == '53/udp,8080/tcp'
    assert notes['org.opencontainers.image.created'] == '2024-01-01T00:00:00Z'
    volume = config['mounts'][-1]
    assert volume['destination'] == '/var/lib/app' and volume['type'] == 'bind'
    assert volume['source'].startswith('volumes/var_lib_app-') and volume['options'] == ['rbind']
    assert validate_config(config) == []


@pytest.mark.parametrize('spec, expected', [
    ('', (0, 0, None, '/root')),
    ('app', (101, 201, [50, 10], '/home/app')),
    ('101', (101, 201, None, '/home/app')),
    ('101:50', (101, 50, None, '/home/app')),
    ('app:staff', (101, 50, None, '/home/app')),
    ('svc:10', (102, 10, None, '/var/svc')),
    ('4242', (4242, 0, None, '/')),
    ('4242:4343', (4242, 4343, None, '/')),
])
def test_user_forms(rootfs, spec, expected):
    from ansible_collections.runcible.oci.plugins.module_utils.bundle.users import resolve_user
    found = resolve_user(spec, rootfs)
    assert (found.uid, found.gid, found.additional_gids, found.home) == expected


@pytest.mark.parametrize('spec', ['nobody', 'app:nogroup'])
def test_unknown_user_or_group_is_an_error(rootfs, spec):
    image = dict(IMAGE, config=dict(IMAGE['config'], User=spec))
    with pytest.raises(ConfigError, match='not in the image'):
        C.generate_config(image, rootfs, {})


def test_passwd_symlinked_out_of_the_rootfs_is_read_inside(rootfs, tmp_path):
    host = tmp_path / 'hostetc'
    host.mkdir()
    (host / 'passwd').write_text('app:x:999:999::/host:/bin/sh\n')
    os.unlink(os.path.join(rootfs, 'etc', 'passwd'))
    os.makedirs(os.path.join(rootfs, str(host).lstrip('/')))
    with open(os.path.join(rootfs, str(host).lstrip('/'), 'passwd'), 'w') as handle:
        handle.write('app:x:555:556::/inside:/bin/sh\n')
    os.symlink(str(host / 'passwd'), os.path.join(rootfs, 'etc', 'passwd'))
    config = C.generate_config(IMAGE, rootfs, {})
    assert config['process']['user']['uid'] == 555


def test_settings_runc_users_reach_for_first(rootfs):
    config = generate(
        rootfs,
        process={'user': {'uid': 101, 'gid': 201}, 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 4096, 'hard': 8192}],
                 'no_new_privileges': True},
        root={'readonly': True},
        resources={'memory': {'limit': 268435456, 'swap': '512m'}, 'pids': {'limit': 100}},
        mounts=[{'source': '/srv/data', 'destination': '/data'}],
    )
    assert config['process']['user'] == {'uid': 101, 'gid': 201}
    assert config['process']['rlimits'] == [{'type': 'RLIMIT_NOFILE', 'soft': 4096, 'hard': 8192}]
    assert config['root'] == {'path': 'rootfs', 'readonly': True}
    assert config['linux']['resources']['memory'] == {'limit': 268435456, 'swap': 536870912}
    assert config['linux']['resources']['pids'] == {'limit': 100}
    assert config['linux']['resources']['devices'] == default_spec()['linux']['resources']['devices']
    assert config['mounts'][-1] == {'source': '/srv/data', 'destination': '/data', 'type': 'bind', 'options': ['rbind']}
    assert validate_config(config) == []


def test_user_string_option_is_resolved(rootfs):
    config = generate(rootfs, process={'user': 'svc:staff', 'env': ['X=1']})
    assert config['process']['user'] == {'uid': 102, 'gid': 50}
    assert 'HOME=/var/svc' in config['process']['env'] and 'X=1' in config['process']['env']


def test_env_merges_by_name_and_dict_form_removes(rootfs):
    config = generate(rootfs, process={'env': {'MODE': 'dev', 'TERM': None, 'NEW': 'x'}})
    assert config['process']['env'] == ['PATH=/usr/local/bin:/bin', 'MODE=dev', 'HOME=/home/app', 'NEW=x']


def test_mounts_merge_by_destination(rootfs):
    config = generate(rootfs, mounts=[{'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm',
                                       'options': ['size=1g']}])
    shm = [m for m in config['mounts'] if m['destination'] == '/dev/shm']
    assert shm == [{'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm', 'options': ['size=1g']}]
    assert [m['destination'] for m in config['mounts']][:4] == ['/proc', '/dev', '/dev/pts', '/dev/shm']


def test_namespaces_replace_and_accept_names(rootfs):
    config = generate(rootfs, namespaces=['pid', 'mount', 'ipc', 'uts'])
    assert config['linux']['namespaces'] == [{'type': t} for t in ('pid', 'mount', 'ipc', 'uts')]


def test_linux_keys_at_top_level_or_under_linux(rootfs):
    assert generate(rootfs, linux={'masked_paths': ['/proc/kcore']})['linux']['maskedPaths'] == ['/proc/kcore']
    assert generate(rootfs, masked_paths=['/proc/kcore'])['linux']['maskedPaths'] == ['/proc/kcore']
    with pytest.raises(ConfigError, match='both'):
        generate(rootfs, masked_paths=['/a'], linux={'masked_paths': ['/b']})


def test_camel_case_keys_are_accepted(rootfs):
    assert generate(rootfs, process={'noNewPrivileges': False})['process']['noNewPrivileges'] is False


def test_unknown_option_names_the_fix(rootfs):
    with pytest.raises(ConfigError) as caught:
        generate(rootfs, process={'no_new_privilege': True})
    assert caught.value.field == 'process.no_new_privilege' and "did you mean 'no_new_privileges'" in caught.value.reason


def test_raw_config_merged_last(rootfs):
    config = generate(rootfs, hostname='web', config={'hostname': 'raw', 'linux': {'maskedPaths': ['/x'], 'seccomp': None},
                                                      'process': {'args': ['sh']}})
    assert config['hostname'] == 'raw'
    assert config['linux']['maskedPaths'] == ['/x']
    assert config['process']['args'] == ['sh']
    assert config['linux']['namespaces'] == default_spec()['linux']['namespaces']


def test_none_suboptions_mean_not_given(rootfs):
    config = generate(rootfs, process={'args': None, 'cwd': None, 'user': {'uid': None, 'gid': None, 'umask': 18}},
                      root={'readonly': None})
    assert config['process']['args'] == ['/usr/local/bin/app', '--serve']
    assert config['process']['user']['umask'] == 18 and config['process']['user']['uid'] == 101
    assert config['root']['readonly'] is False


def test_image_volumes_modes(rootfs):
    tmpfs = C.generate_config(IMAGE, rootfs, {'image_volumes': 'tmpfs'})['mounts'][-1]
    assert tmpfs['type'] == 'tmpfs' and tmpfs['destination'] == '/var/lib/app'
    ignored = C.generate_config(IMAGE, rootfs, {'image_volumes': 'ignore'})['mounts']
    assert all(m['destination'] != '/var/lib/app' for m in ignored)


def test_foreign_os_image_is_refused(rootfs):
    with pytest.raises(ConfigError, match='windows'):
        C.generate_config(dict(IMAGE, os='windows'), rootfs, {})


def test_bad_size_names_the_field(rootfs):
    with pytest.raises(ConfigError) as caught:
        generate(rootfs, resources={'memory': {'limit': 'lots'}})
    assert caught.value.field == 'linux.resources.memory.limit'
