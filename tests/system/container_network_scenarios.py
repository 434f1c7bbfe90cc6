# -*- coding: utf-8 -*-
"""Containers on networks, for tests/system/test_container_network.py: `unshare --net --mount -- PYTHON THIS NAME RUNTIME`.

The process's own network namespace stands in for the host (bridges,
sysctls, the nftables table, published ports are made there and go with
it); its private mount namespace holds the containers' namespace files.
Containers are converged by oci_container's Converger (real supervisors,
real runtime: the vendored one, runc or crun), each serving its name with
busybox httpd. Each scenario prints one JSON object of observations.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position
from systemlib import BUSYBOX, default_config, import_collection, make_rootfs, new_id  # noqa: E402

import_collection()

from ansible_collections.runcible.oci.plugins.module_utils.converge.container import Converger  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.converge.network import ensure_network  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.network import netlink, netns  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.network.nft import Nft  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import RuntimeErrorBase  # noqa: E402
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import syscalls  # noqa: E402
import lanlib  # noqa: E402

WORK = tempfile.mkdtemp(prefix='runcible-ctnet-')
# The stand-in host's folders (runtime root, supervisors, logs): OtherHost swaps them with the namespace.
HOST = WORK
NETWORK_ROOT = os.path.join(WORK, 'network')
NETNS_DIR = os.path.join(WORK, 'netns')
TEMPLATE = os.path.join(WORK, 'template')
RUNTIME = sys.argv[2] if len(sys.argv) > 2 else 'runcible'
CONTAINERS = []
SERVE = 'echo "hello-$NAME" > /dev/shm/index.html && exec httpd -f -p 80 -h /dev/shm'


def network(name, **params):
    base = {'name': name, 'state': 'present', 'driver': 'bridge', 'subnets': None, 'ipv6': False, 'internal': False,
            'mtu': None, 'bridge_name': None, 'dns': True, 'force': False, 'network_root': NETWORK_ROOT}
    base.update(params)
    return ensure_network(base)


def bundle(name, hostname=None, folder=None, cgroups_path=None):
    """A bundle whose container serves `hello-<name>` on port 80 (in bundles/`folder`, default `name`)."""
    path = os.path.join(WORK, 'bundles', folder or name)
    shutil.copytree(TEMPLATE, os.path.join(path, 'rootfs'), symlinks=True)
    config = default_config()
    config['process']['args'] = ['sh', '-c', SERVE]
    config['process']['env'].append('NAME=%s' % name)
    config['root']['readonly'] = True
    config['hostname'] = hostname or name
    if cgroups_path:
        config['linux']['cgroupsPath'] = cgroups_path
    with open(os.path.join(path, 'config.json'), 'w') as handle:
        json.dump(config, handle)
    return path


def converge(name, check_mode=False, **params):
    """oci_container's run for container `name`: its result, or {'error': message} for a failure."""
    if name not in CONTAINERS:
        CONTAINERS.append(name)
    base = {'name': name, 'state': 'running', 'runtime': RUNTIME, 'runtime_root': os.path.join(HOST, 'root'),
            'restart_policy': 'no', 'stop_timeout': 2, 'log_path': os.path.join(HOST, 'logs', name + '.log'),
            'log_lines': 5, 'network_root': NETWORK_ROOT}
    unit_dirs = params.pop('unit_dirs', None)
    base.update(params)
    try:
        return Converger(base, check_mode=check_mode, supervisor_root=os.path.join(HOST, 'supervisors'),
                         lib_root=os.path.join(HOST, 'lib'), netns_dir=NETNS_DIR, unit_dirs=unit_dirs).run()
    except RuntimeErrorBase as exc:
        return {'error': str(exc)}


def in_container(result, *argv, timeout=10):
    """Run argv in the container's network and mount namespaces (its own /etc/hosts, its rootfs' busybox)."""
    command = ['nsenter', '-t', str(result['container']['pid']), '-n', '-m'] + list(argv)
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return completed.returncode, completed.stdout.decode('utf-8', 'replace')


def fetch(where, url):
    """The body busybox wget gets from `url` within 4 s, or 'FAILED': `where` is None (the stand-in host), a namespace
    path, or a container's result."""
    argv = [BUSYBOX, 'timeout', '4', BUSYBOX, 'wget', '-q', '-O', '-', url]
    if isinstance(where, dict):
        status, output = in_container(where, '/bin/busybox', 'timeout', '4', '/bin/busybox', 'wget', '-q', '-O', '-',
                                      url, timeout=15)
    else:
        command = (['nsenter', '--net=' + where] if where else []) + argv
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=15, check=False)
        status, output = completed.returncode, completed.stdout.decode('utf-8', 'replace')
    return output.strip() if status == 0 else 'FAILED'


def fetch_soon(where, url, expected):
    """fetch(), tried for at most ~5 s until it answers `expected` (httpd may not listen yet)."""
    seen = 'FAILED'
    for attempt in range(10):
        seen = fetch(where, url)
        if seen == expected:
            break
        time.sleep(0.3 + attempt * 0.05)
    return seen


def client_host(name, host_cidr, client_cidr):
    """Another machine on the stand-in host's LAN (lanlib.client_host), its namespace with the others."""
    return lanlib.client_host(name, host_cidr, client_cidr, NETNS_DIR)


def host_state():
    """What is on the stand-in host: links, the table, the records, namespace files and their mounts."""
    with netlink.route() as host:
        links = sorted(name for name in host.names() if name.startswith(('rc-', 'rv')))
    files = []
    for directory, unused, names in os.walk(NETWORK_ROOT):
        files.extend(os.path.relpath(os.path.join(directory, name), NETWORK_ROOT) for name in names)
    with open('/proc/self/mountinfo') as handle:
        mounts = sorted(line.split()[4] for line in handle if line.split()[4].startswith(NETNS_DIR + '/'))
    return {'links': links, 'table': Nft().list_table('inet', 'runcible') is not None,
            'records': sorted(name for name in files if not name.startswith('.') and name != 'firewall-seen.json'),
            'netns': sorted(os.listdir(NETNS_DIR)) if os.path.isdir(NETNS_DIR) else [], 'mounts': mounts}


def summary(result):
    keys = ('changed', 'actions', 'status', 'networks', 'ports', 'diff', 'error')
    return {key: result[key] for key in keys if key in result}


# -- scenarios -------------------------------------------------------------

def scenario_web():
    """Two containers on one network, published ports, hairpin, IPv6, idempotence, check mode, diff, flush, absent."""
    seen = {}
    network('web', subnets=[{'subnet': '10.95.0.0/24'}, {'subnet': 'fd00:95::/64'}], ipv6=True)
    client = client_host('client', '10.254.7.1/30', '10.254.7.2/30')
    a, b = new_id('a'), new_id('b')
    spec_a = {'bundle': bundle(a, hostname='alpha'), 'networks': [{'name': 'web', 'aliases': ['www']}],
              'ports': ['8080:80', '127.0.0.1:8081:80']}
    before = host_state()
    seen['check_new'] = summary(converge(a, check_mode=True, **spec_a))
    seen['check_new_left_nothing'] = host_state() == before
    created = converge(a, **spec_a)
    seen['created'] = summary(created)
    seen['pid'] = created['container']['pid']
    seen['again'] = summary(converge(a, **spec_a))
    seen['again_check'] = summary(converge(a, check_mode=True, **spec_a))
    seen['spelled_otherwise'] = summary(converge(a, bundle=spec_a['bundle'], networks=[{'name': 'web', 'aliases': ['www']}],
                                                 ports=['127.0.0.1:8081:80/tcp', '0.0.0.0:8080:80']))
    result_b = converge(b, bundle=bundle(b), networks=['web'], ports=[])
    seen['b'] = summary(result_b)
    seen['b_to_a_by_name'] = fetch_soon(result_b, 'http://%s/' % a, 'hello-' + a)
    seen['b_to_a_by_alias'] = fetch(result_b, 'http://www/')
    seen['b_to_a_v6'] = fetch(result_b, 'http://[%s]/' % created['networks']['web']['ipv6_address'])
    _status, seen['hosts_a'] = in_container(created, '/bin/busybox', 'cat', '/etc/hosts')
    seen['a_to_b_by_name'] = fetch_soon(created, 'http://%s/' % b, 'hello-' + b)
    seen['host_localhost'] = fetch(None, 'http://127.0.0.1:8080/')
    seen['host_localhost_only'] = fetch(None, 'http://127.0.0.1:8081/')
    seen['client'] = fetch(client, 'http://10.254.7.1:8080/')
    seen['client_localhost_only'] = fetch(client, 'http://10.254.7.1:8081/')
    seen['hairpin'] = fetch(created, 'http://10.254.7.1:8080/')
    # ports changed: re-attached, not recreated
    seen['check_ports'] = summary(converge(a, check_mode=True, bundle=spec_a['bundle'], networks=spec_a['networks'],
                                           ports=['9090:80']))
    seen['old_port_after_check'] = fetch(None, 'http://127.0.0.1:8080/')
    changed = converge(a, bundle=spec_a['bundle'], networks=spec_a['networks'], ports=['9090:80'])
    seen['ports_changed'] = summary(changed)
    seen['pid_kept'] = changed['container']['pid'] == seen['pid']
    seen['old_port'] = fetch(None, 'http://127.0.0.1:8080/')
    seen['new_port'] = fetch(None, 'http://127.0.0.1:9090/')
    spec_a['ports'] = ['9090:80']
    # resolv.conf and the networks' settings: re-attached too, the files rewritten in place
    seen['dns_changed'] = summary(converge(a, dns=['10.95.0.1'], dns_search=['example.test'], dns_options=['ndots:2'],
                                           **spec_a))
    seen['resolv_a'] = in_container(created, '/bin/busybox', 'cat', '/etc/resolv.conf')[1]
    spec_a.update(dns=['10.95.0.1'], dns_search=['example.test'], dns_options=['ndots:2'])
    spec_a['networks'] = [{'name': 'web', 'aliases': ['www', 'web2']}]
    aliased = converge(a, **spec_a)
    seen['alias_added'] = summary(aliased)
    seen['pid_kept_after_dns_and_alias'] = aliased['container']['pid'] == seen['pid']
    seen['b_to_a_by_new_alias'] = fetch(result_b, 'http://web2/')
    seen['after_alias_again'] = summary(converge(a, **spec_a))
    # a flushed ruleset: the next run mends it
    Nft().run([{'delete': {'table': {'family': 'inet', 'name': 'runcible'}}}])
    seen['flushed'] = fetch(None, 'http://127.0.0.1:9090/')
    seen['mended'] = summary(converge(a, **spec_a))
    seen['after_mend'] = fetch(None, 'http://127.0.0.1:9090/')
    seen['after_mend_again'] = summary(converge(a, **spec_a))
    # absent: nothing left
    seen['absent_check'] = summary(converge(a, check_mode=True, state='absent'))
    seen['absent'] = summary(converge(a, state='absent'))
    seen['absent_again'] = summary(converge(a, state='absent'))
    seen['hosts_b_after'] = in_container(result_b, '/bin/busybox', 'cat', '/etc/hosts')[1]
    # as oci_containers' exclusive removes it: no network_root given, the one it was put on networks with is used
    seen['absent_b_default_root'] = summary(converge(b, state='absent', network_root=None))
    netns.remove('client', NETNS_DIR)
    network('web', state='absent')
    seen['left'] = host_state()
    return seen


def scenario_internal():
    """An internal network has no way out; a static IPv6 address; joining a network recreates, leaving it too."""
    seen = {}
    network('closed', subnets=[{'subnet': '10.96.0.0/24'}, {'subnet': 'fd00:96::/64'}], ipv6=True, internal=True)
    client_host('clnt', '10.254.8.1/30', '10.254.8.2/30')
    server = subprocess.Popen(['/bin/busybox', 'httpd', '-f', '-p', '8000', '-h', WORK])
    try:
        c = new_id('c')
        path = bundle(c)
        inside = converge(c, bundle=path, networks=[{'name': 'closed', 'ipv6_address': 'fd00:96::50'}])
        seen['inside'] = summary(inside)
        seen['address'] = in_container(inside, '/bin/busybox', 'ip', '-6', 'addr', 'show', 'eth0')[1]
        seen['routes'] = in_container(inside, '/bin/busybox', 'ip', 'route')[1]
        seen['to_host_address'] = fetch(inside, 'http://10.254.8.1:8000/')
        seen['to_client_host'] = in_container(inside, '/bin/busybox', 'ping', '-c', '1', '-W', '1', '10.254.8.2')[0]
        seen['ports_on_internal'] = converge(c, bundle=path, networks=['closed'], ports=['8080:80']).get('error')
        # leaving the last network: recreated in the bundle's own namespace, the network side removed
        left = converge(c, bundle=path)
        seen['left_network'] = summary(left)
        seen['after_leaving'] = host_state()  # the client machine's namespace is still there
        seen['links_after_leaving'] = in_container(left, '/bin/busybox', 'ip', '-o', 'link')[1]
        converge(c, state='absent')
    finally:
        server.terminate()
        server.wait(10)
    netns.remove('clnt', NETNS_DIR)
    network('closed', state='absent')
    seen['left'] = host_state()
    return seen


def scenario_bad_input():
    """Each bad input: an error naming the option, nothing left behind."""
    network('web', subnets=[{'subnet': '10.97.0.0/24'}])
    holder = new_id('h')
    converge(holder, bundle=bundle(holder), networks=['web'], ports=['8080:80'])
    before = host_state()
    d = new_id('d')
    path = bundle(d)
    cases = {
        'unknown_network': {'networks': ['nosuch']},
        'outside_subnet': {'networks': [{'name': 'web', 'ipv4_address': '10.98.0.5'}]},
        'port_clash': {'networks': ['web'], 'ports': ['9999:80', '8080:80']},
        'malformed_port': {'networks': ['web'], 'ports': ['80:http']},
        'ports_without_networks': {'ports': ['8081:80']},
        'bad_mac': {'networks': [{'name': 'web', 'mac_address': '01:00:5e:00:00:01'}]},
    }
    seen = {'errors': {}, 'left': {}}
    for case, params in sorted(cases.items()):
        for check_mode in (True, False):
            result = converge(d, check_mode=check_mode, bundle=path, **params)
            seen['errors'][case] = result.get('error') or result
            seen['left'][case] = host_state() == before and not os.path.exists(os.path.join(WORK, 'root', d))
    converge(holder, state='absent')
    network('web', state='absent')
    seen['after'] = host_state()
    return seen


def scenario_same_name():
    """One name in two runtime roots: a container's namespace and records go by its name, so a second container
    of the name on networks is refused; one on no network, and its removal, leave the first's networks alone."""
    network('web', subnets=[{'subnet': '10.99.0.0/24'}])
    name = new_id('s')
    path = bundle(name)
    # The same name in another runtime root needs a cgroup of its own (the default cgroup path is the name).
    other = {'runtime_root': os.path.join(HOST, 'root-other'), 'bundle': bundle(name, folder=name + '-other',
                                                                                cgroups_path='/%s-other' % name),
             'log_path': os.path.join(HOST, 'logs', name + '-other.log')}
    seen = {}
    try:
        first = converge(name, bundle=path, networks=['web'], ports=['8080:80'])
        seen['first'] = summary(first)
        seen['served'] = fetch_soon(None, 'http://127.0.0.1:8080/', 'hello-' + name)
        before = host_state()
        seen['second_check'] = converge(name, check_mode=True, networks=['web'], **other).get('error')
        seen['second'] = converge(name, networks=['web'], **other).get('error')
        seen['second_made_nothing'] = host_state() == before and \
            not os.path.exists(os.path.join(other['runtime_root'], name))
        seen['plain'] = summary(converge(name, **other))
        seen['kept_after_plain'] = host_state() == before
        seen['plain_absent'] = summary(converge(name, state='absent', **other))
        seen['kept_after_absent'] = host_state() == before
        seen['still_served'] = fetch(None, 'http://127.0.0.1:8080/')
        seen['first_again'] = summary(converge(name, bundle=path, networks=['web'], ports=['8080:80']))
        converge(name, state='absent')
        # The first one gone (its records with it), the name's networks are free for the other root's container.
        seen['after_first_gone'] = summary(converge(name, networks=['web'], **other))
    finally:
        converge(name, state='absent', runtime_root=other['runtime_root'])
    network('web', state='absent')
    seen['left'] = host_state()
    return seen


def simulated_reboot(name, unit_path):
    """What a reboot takes from a container on networks: its processes, monitor and holder, its state under /run
    (runtime state, supervisor folder, network namespace), veths, bridges, sysctls and the nftables table. The
    records on disk (network_root, the unit and its settings copy) stay."""
    with open(unit_path) as handle:
        text = handle.read()
    folder = [line for line in text.splitlines() if line.startswith('ExecStart=')][0].split()[-1]
    with open(os.path.join(folder, 'status.json')) as handle:
        status = json.load(handle)
    for pid in (status['supervisor_pid'], status['holder_pid']):
        os.kill(pid, 9)
    runtime_delete = [line for line in text.splitlines() if line.startswith('ExecStartPre=-')][0]
    subprocess.run(runtime_delete[len('ExecStartPre=-'):].split(), capture_output=True, timeout=60, check=False)
    shutil.rmtree(folder)
    netns.remove(name, NETNS_DIR)
    with netlink.route() as host:
        for link in sorted(host.names()):
            if link.startswith(('rc-', 'rv')):
                host.delete(link)
    subprocess.run(['nft', 'flush', 'ruleset'], check=True, timeout=30)
    with open('/proc/sys/net/ipv4/ip_forward', 'w') as handle:
        handle.write('0')
    return text


def boot_unit(text):
    """The unit's commands as systemd runs them: each ExecStartPre in order (a failure of one without `-` stops
    the start: reported), then ExecStart in the background. (exit statuses of the ExecStartPre commands, the
    supervisor's process)."""
    statuses = []
    for line in text.splitlines():
        if line.startswith('ExecStartPre='):
            command = line[len('ExecStartPre='):]
            optional = command.startswith('-')
            completed = subprocess.run(['sh', '-c', command.lstrip('-')], capture_output=True, timeout=120,
                                       check=False)
            statuses.append(completed.returncode)
            if completed.returncode != 0 and not optional:
                raise AssertionError('%s failed: %s' % (command, completed.stderr.decode('utf-8', 'replace')))
    start = [line for line in text.splitlines() if line.startswith('ExecStart=')][0][len('ExecStart='):]
    process = subprocess.Popen(['sh', '-c', 'exec ' + start], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    return statuses, process


def scenario_unit_boot():
    """systemd_unit with networks: after a simulated reboot the unit's own commands put the container back on its
    network (same address, published port, names) before its supervisor creates it; Ansible then changes nothing."""
    network('web', subnets=[{'subnet': '10.98.0.0/24'}])
    name = new_id('u')
    options = {'bundle': bundle(name), 'networks': [{'name': 'web', 'aliases': ['www']}], 'ports': ['8088:80'],
               'systemd_unit': True, 'unit_dirs': {'unit_dir': os.path.join(WORK, 'units'),
                                                   'settings_dir': os.path.join(WORK, 'unitconf')}}
    seen = {}
    first = converge(name, **dict(options))
    seen['first'] = summary(first)
    seen['served'] = fetch_soon(None, 'http://127.0.0.1:8088/', 'hello-' + name)
    unit_path = first['systemd_unit']
    text = simulated_reboot(name, unit_path)
    seen['unit_network_up'] = [line for line in text.splitlines() if 'network-up' in line]
    seen['after_reboot'] = {'served': fetch(None, 'http://127.0.0.1:8088/'), 'host': host_state()}
    statuses, supervisor = boot_unit(text)
    try:
        seen['statuses'] = statuses
        seen['served_after_boot'] = fetch_soon(None, 'http://127.0.0.1:8088/', 'hello-' + name)
        again = converge(name, **dict(options))
        seen['again'] = summary(again)
        seen['inside'] = in_container(again, '/bin/busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0')[1]
        seen['hosts'] = in_container(again, '/bin/busybox', 'cat', '/etc/hosts')[1]
        seen['pid_changed'] = again['container']['pid'] != first['container']['pid']
        seen['removed'] = summary(converge(name, state='absent', unit_dirs=options['unit_dirs']))
        seen['unit_left'] = os.path.exists(unit_path)
    finally:
        supervisor.wait(30)
    network('web', state='absent')
    seen['left'] = host_state()
    return seen


def checkpoint(name, **params):
    """oci_checkpoint's run for container `name`: its result, or {'error': message}."""
    from ansible_collections.runcible.oci.plugins.module_utils.converge.checkpoint import CheckpointRun  # noqa: E501 pylint: disable=import-outside-toplevel
    base = {'name': name, 'runtime': RUNTIME, 'runtime_root': os.path.join(HOST, 'root'), 'criu_path': CRIU,
            'image_path': os.path.join(HOST, 'images', name), 'supervise': True, 'network_root': NETWORK_ROOT}
    base.update(params)
    try:
        return CheckpointRun(base, supervisor_root=os.path.join(HOST, 'supervisors'),
                             lib_root=os.path.join(HOST, 'lib'), netns_dir=NETNS_DIR).run()
    except RuntimeErrorBase as exc:
        return {'error': str(exc)}


CRIU = None


def scenario_checkpoint():
    """oci_checkpoint keeps a networked container's namespace: the same address and published port after a restore."""
    global CRIU  # pylint: disable=global-statement
    from criulib import find_criu  # pylint: disable=import-outside-toplevel
    CRIU, reason = find_criu()
    if CRIU is None:
        return {'skip': reason}
    network('ck', subnets=[{'subnet': '10.94.0.0/24'}])
    name = new_id('k')
    spec = {'bundle': bundle(name), 'networks': ['ck'], 'ports': ['8090:80']}
    created = converge(name, **spec)
    seen = {'created': summary(created), 'served': 'hello-' + name,
            'before': fetch_soon(None, 'http://127.0.0.1:8090/', 'hello-' + name)}
    reported = ('changed', 'actions', 'status', 'error')
    seen['checkpointed'] = {key: value for key, value in checkpoint(name).items() if key in reported}
    seen['while_checkpointed'] = fetch(None, 'http://127.0.0.1:8090/')
    seen['namespace_kept'] = netns.exists(os.path.join(NETNS_DIR, name))
    restored = checkpoint(name, state='restored', bundle=spec['bundle'])
    seen['restored'] = {key: value for key, value in restored.items() if key in reported}
    seen['after'] = fetch_soon(None, 'http://127.0.0.1:8090/', 'hello-' + name)
    again = converge(name, **spec)
    seen['converge_after'] = summary(again)
    seen['same_address'] = in_container(again, '/bin/busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0')[1]
    converge(name, state='absent')
    network('ck', state='absent')
    seen['left'] = host_state()
    return seen


CLONE_NEWNET = 0x40000000


class OtherHost:
    """Another host: this process in the network namespace `path` (its links, sysctls and nftables table), with
    folders of its own under `folder` (network records, namespace files, runtime root, supervisors, logs)."""

    def __init__(self, path, folder):
        self.path = path
        self.folder = folder
        self.own = None
        self.saved = None

    def __enter__(self):
        global HOST, NETWORK_ROOT, NETNS_DIR  # pylint: disable=global-statement
        self.saved = (HOST, NETWORK_ROOT, NETNS_DIR)
        self.own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            syscalls.setns(target, CLONE_NEWNET)
        finally:
            os.close(target)
        HOST = self.folder
        NETWORK_ROOT, NETNS_DIR = os.path.join(self.folder, 'network'), os.path.join(self.folder, 'netns')
        os.makedirs(NETNS_DIR)
        with netlink.route() as host:
            host.set_link(host.index('lo'), state='up')
        return self

    def __exit__(self, *exc_info):
        global HOST, NETWORK_ROOT, NETNS_DIR  # pylint: disable=global-statement
        syscalls.setns(self.own, CLONE_NEWNET)
        os.close(self.own)
        HOST, NETWORK_ROOT, NETNS_DIR = self.saved


def scenario_move():
    """oci_checkpoint moves a container on a network to another host: checkpointed and exported here, imported
    and restored there (a second network namespace with its own network records, namespaces, runtime root and
    supervisors), where it answers on the same address and on its published port. Before the network exists
    there, the import is an error naming it that leaves nothing there."""
    global CRIU  # pylint: disable=global-statement
    from criulib import find_criu  # pylint: disable=import-outside-toplevel
    from ansible_collections.runcible.oci.plugins.module_utils.runtime.criu import archive  # noqa: E501 pylint: disable=import-outside-toplevel
    CRIU, reason = find_criu()
    if CRIU is None:
        return {'skip': reason}
    subnets = [{'subnet': '10.92.0.0/24'}]
    network('mv', subnets=subnets)
    name = new_id('m')
    options = {'networks': [{'name': 'mv', 'aliases': ['web']}], 'ports': ['8092:80']}
    converge(name, bundle=bundle(name), **options)
    served = 'hello-' + name
    seen = {'served': served, 'before': fetch_soon(None, 'http://127.0.0.1:8092/', served)}
    exported = checkpoint(name, export=os.path.join(WORK, 'move.tar'))
    seen['exported'] = {key: exported.get(key) for key in ('changed', 'actions', 'error')}
    seen['carried'] = archive.read_manifest(os.path.join(WORK, 'move.tar')).get('network')
    there = os.path.join(WORK, 'there')
    restore = {'state': 'restored', 'import': os.path.join(WORK, 'move.tar'), 'bundle': os.path.join(there, 'bundle'),
               'image_path': os.path.join(there, 'image'), 'log_path': os.path.join(there, 'logs', name + '.log')}
    with OtherHost(netns.create('host-b', NETNS_DIR)[0], there):
        try:
            before = host_state()
            seen['no_network'] = checkpoint(name, **restore).get('error')
            seen['nothing_there'] = (host_state() == before, sorted(os.listdir(there)))
            network('mv', subnets=subnets)
            moved = checkpoint(name, **restore)
            seen['moved'] = {key: moved.get(key) for key in ('changed', 'actions', 'status', 'readdressed', 'error')}
            seen['there'] = ((moved.get('networks') or {}).get('mv') or {}).get('ipv4_address')
            seen['after'] = (fetch_soon(None, 'http://127.0.0.1:8092/', served), fetch(None, 'http://10.92.0.2/'))
            seen['inside'] = moved.get('container') and in_container(moved, '/bin/busybox', 'ip', '-4', '-o', 'addr',
                                                                     'show', 'eth0')[1]
            seen['again'] = {key: checkpoint(name, **restore).get(key) for key in ('changed', 'actions', 'error')}
            seen['converge_there'] = summary(converge(name, bundle=restore['bundle'], **options))
        finally:
            converge(name, state='absent')
            network('mv', state='absent')
        seen['left_there'] = host_state()
    netns.remove('host-b', NETNS_DIR)
    # Here the checkpointed container kept its namespace and records: its removal takes them.
    converge(name, state='absent')
    network('mv', state='absent')
    seen['left'] = host_state()
    return seen


def main():
    make_rootfs(TEMPLATE)
    os.makedirs(NETNS_DIR)
    with netlink.route() as host:
        host.set_link(host.index('lo'), state='up')
    try:
        seen = globals()['scenario_' + sys.argv[1]]()
    finally:
        for name in CONTAINERS:
            converge(name, state='absent')
    shutil.rmtree(WORK, ignore_errors=True)
    print(json.dumps(seen))


if __name__ == '__main__':
    main()
