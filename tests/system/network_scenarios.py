# -*- coding: utf-8 -*-
"""Network scenarios for tests/system/test_network.py, run as `unshare --net -- PYTHON network_scenarios.py NAME`.

The process's own new network namespace stands in for the host: bridges,
sysctls and the nftables table are made there, and go with it, so the
machine's links and ruleset are never touched. Containers are further
namespaces made by the library. Each scenario prints one JSON object of
observations; the test asserts on them. Any interpreter with pyroute2 runs
it (the test runs it under the venv's PyPI pyroute2 and Debian's 0.7).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOP = tempfile.mkdtemp(prefix='runcible-net-')
os.makedirs(os.path.join(TOP, 'ansible_collections', 'runcible'))
os.symlink(REPO, os.path.join(TOP, 'ansible_collections', 'runcible', 'oci'))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

# pylint: disable=wrong-import-position
from ansible_collections.runcible.oci.plugins.module_utils.converge.network import ensure_network, network_info
from ansible_collections.runcible.oci.plugins.module_utils.network import attach as attaching, netlink, netns
from ansible_collections.runcible.oci.plugins.module_utils.network.nft import Nft
from ansible_collections.runcible.oci.plugins.module_utils.network.store import NetworkStore
from ansible_collections.runcible.oci.plugins.module_utils.runtime.errors import RuntimeErrorBase
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import syscalls
import lanlib  # noqa: E402

BUSYBOX = '/bin/busybox'
WORK = tempfile.mkdtemp(prefix='runcible-netwk-')
ROOT = os.path.join(WORK, 'state')
NSDIR = os.path.join(WORK, 'ns')
STORE = NetworkStore(ROOT)
SERVERS = []
NFT_BACKEND = os.environ.get('NFT_BACKEND') or None


def nft():
    return Nft(NFT_BACKEND)


def network(name, **params):
    base = {'name': name, 'state': 'present', 'driver': 'bridge', 'subnets': None, 'ipv6': False, 'internal': False,
            'mtu': None, 'bridge_name': None, 'dns': True, 'force': False, 'network_root': ROOT}
    base.update(params)
    return ensure_network(base, nft=nft())


def namespace(name):
    return netns.create(name, NSDIR)[0]


def run(path, *argv, timeout=10):
    command = (['nsenter', '--net=' + path] if path else []) + list(argv)
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    return completed.returncode, completed.stdout.decode('utf-8', 'replace')


def serve(path, text, port=80):
    """busybox httpd in namespace `path` (None: the stand-in host) serving `text`."""
    folder = tempfile.mkdtemp(dir=WORK)
    with open(os.path.join(folder, 'index.html'), 'w') as handle:
        handle.write(text)
    command = (['nsenter', '--net=' + path] if path else []) + [BUSYBOX, 'httpd', '-f', '-p', str(port), '-h', folder]
    SERVERS.append(subprocess.Popen(command))
    time.sleep(0.3)


def fetch(path, url):
    """The body busybox wget gets from `url` inside `path` within 4 s, or 'FAILED'.

    (busybox 1.35's `wget -T` crashes, so `timeout` bounds it.)"""
    status, output = run(path, BUSYBOX, 'timeout', '4', BUSYBOX, 'wget', '-q', '-O', '-', url, timeout=15)
    return output.strip() if status == 0 else 'FAILED'


def client_host(name, host_cidr, client_cidr):
    """Another machine on the stand-in host's LAN (lanlib.client_host), its namespace with the others."""
    return lanlib.client_host(name, host_cidr, client_cidr, NSDIR)


def host_state(root=ROOT):
    """What is left on the stand-in host: links, the nftables table, the records (under `root`)."""
    with netlink.route() as host:
        links = sorted(host.names())
    listed = nft().list_table('inet', 'runcible')
    files = []
    for directory, unused, names in os.walk(root):
        files.extend(os.path.relpath(os.path.join(directory, name), root) for name in names)
    return {'links': links, 'table': listed is not None, 'files': sorted(files)}


def error_of(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except RuntimeErrorBase as exc:
        return str(exc)
    return None


# -- scenarios -------------------------------------------------------------

def scenario_basic():
    seen = {}
    first = network('web', subnets=[{'subnet': '10.91.0.0/24'}, {'subnet': 'fd00:91::/64'}], ipv6=True)
    seen['created'] = first['changed']
    seen['again'] = network('web', subnets=[{'subnet': '10.91.0.0/24'}, {'subnet': 'fd00:91::/64'}], ipv6=True)['changed']
    a, b = namespace('a'), namespace('b')
    client = client_host('client', '10.254.0.1/30', '10.254.0.2/30')
    before = host_state()
    predicted = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}],
                                 ['8080:80', '127.0.0.1:8081:80', '80'], check_mode=True, nft=nft())
    seen['check_mode'] = {'changed': predicted['changed'], 'actions': predicted['actions'],
                          'unchanged': host_state() == before}
    result = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}],
                              ['8080:80', '127.0.0.1:8081:80', '80'], nft=nft())
    seen['check_mode_after'] = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}],
                                                ['8080:80', '127.0.0.1:8081:80', '80'], check_mode=True,
                                                nft=nft())['changed']
    seen['a'] = result['networks']['web']
    seen['random_port'] = result['ports'][2]['host_port']
    seen['b'] = attaching.attach(STORE, 'b', b, ['web'], nft=nft())['networks']['web']
    serve(a, 'hello-a')
    seen['b_to_a_v4'] = fetch(b, 'http://10.91.0.2/')
    seen['b_to_a_v6'] = fetch(b, 'http://[fd00:91::2]/')
    seen['host_localhost'] = fetch(None, 'http://127.0.0.1:8080/')
    seen['host_localhost_only'] = fetch(None, 'http://127.0.0.1:8081/')
    seen['client_localhost_only'] = fetch(client, 'http://10.254.0.1:8081/')
    seen['client'] = fetch(client, 'http://10.254.0.1:8080/')
    seen['client_random'] = fetch(client, 'http://10.254.0.1:%s/' % seen['random_port'])
    seen['hairpin'] = fetch(a, 'http://10.254.0.1:8080/')
    seen['v6_published'] = fetch(b, 'http://[fd00:91::1]:8080/')
    again = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}],
                             ['0.0.0.0:8080:80', '127.0.0.1:8081:80/tcp', '80'], nft=nft())
    seen['reattach_changed'] = again['changed']
    seen['random_port_kept'] = again['ports'][2]['host_port']
    with netlink.route() as host:
        veth_before = host.index(attaching.host_veth('a', 'web'))
    seen['ports_changed'] = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}], ['9090:80'],
                                             nft=nft())['changed']
    with netlink.route() as host:
        seen['veth_kept'] = host.index(attaching.host_veth('a', 'web')) == veth_before
    seen['old_port'] = fetch(None, 'http://127.0.0.1:8080/')
    seen['new_port'] = fetch(None, 'http://127.0.0.1:9090/')
    nft().run([{'delete': {'table': {'family': 'inet', 'name': 'runcible'}}}])
    seen['flushed'] = fetch(None, 'http://127.0.0.1:9090/')
    seen['info_in_sync_after_flush'] = network_info({'name': 'web', 'network_root': ROOT}, nft=nft())['networks'][0][
        'firewall_in_sync']
    restored = attaching.attach(STORE, 'a', a, [{'name': 'web', 'aliases': ['www']}], ['9090:80'], nft=nft())
    seen['restore_actions'] = restored['actions']
    seen['restored'] = fetch(None, 'http://127.0.0.1:9090/')
    with open(os.path.join(STORE.container_dir('b'), 'hosts')) as handle:
        seen['hosts_b'] = handle.read()
    seen['info'] = network_info({'name': 'web', 'network_root': ROOT}, nft=nft())['networks'][0]
    seen['detach_a'] = attaching.detach(STORE, 'a', nft=nft())['actions']
    with open(os.path.join(STORE.container_dir('b'), 'hosts')) as handle:
        seen['hosts_b_after'] = handle.read()
    seen['in_use'] = error_of(network, 'web', state='absent')
    seen['removed'] = network('web', state='absent', force=True)['actions']
    seen['left'] = host_state()
    return seen


def scenario_internal():
    network('open', subnets=[{'subnet': '10.93.0.0/24'}])
    network('closed', subnets=[{'subnet': '10.92.0.0/24'}], internal=True)
    client_host('clnt', '10.254.1.1/30', '10.254.1.2/30')
    a, b = namespace('a'), namespace('b')
    attaching.attach(STORE, 'a', a, ['closed'], nft=nft())
    attaching.attach(STORE, 'b', b, ['open'], nft=nft())
    serve(None, 'host', 8000)
    seen = {
        'internal_to_gateway': fetch(a, 'http://10.92.0.1:8000/'),
        'internal_to_host_address': fetch(a, 'http://10.254.1.1:8000/'),
        'internal_to_client_host': run(a, BUSYBOX, 'ping', '-c', '1', '-W', '1', '10.254.1.2')[0],
        'open_to_host_address': fetch(b, 'http://10.254.1.1:8000/'),
        'open_to_client_host': run(b, BUSYBOX, 'ping', '-c', '1', '-W', '2', '10.254.1.2')[0],
        'isolated': run(b, BUSYBOX, 'ping', '-c', '1', '-W', '1', '10.92.0.2')[0],
        'routes_internal': run(a, BUSYBOX, 'ip', 'route')[1],
        'ports_on_internal': error_of(attaching.attach, STORE, 'a', a, ['closed'], ['8080:80'], nft=nft()),
    }
    attaching.detach(STORE, 'a', nft=nft())
    attaching.detach(STORE, 'b', nft=nft())
    network('open', state='absent')
    network('closed', state='absent')
    seen['left'] = host_state()
    return seen


def scenario_default_subnet():
    """No subnets given: the pick skips the host's LAN (an address) and a network it routes (a VPN, say)."""
    client_host('lan', '10.90.0.1/24', '10.90.0.2/24')
    subprocess.run(['ip', 'route', 'add', '10.90.1.0/24', 'via', '10.90.0.2'], check=True)
    first = network('auto')
    again = network('auto')
    # The route goes away: the network keeps the subnet it was given (its containers' addresses stay valid).
    subprocess.run(['ip', 'route', 'del', '10.90.1.0/24', 'via', '10.90.0.2'], check=True)
    after_route_gone = network('auto')
    second = network('auto2')
    seen = {'first': first['network']['subnets'], 'again_changed': again['changed'],
            'after_route_gone': after_route_gone['network']['subnets'], 'after_route_gone_changed':
            after_route_gone['changed'], 'second': second['network']['subnets']}
    network('auto', state='absent')
    network('auto2', state='absent')
    seen['left'] = host_state()
    return seen


def scenario_isolation():
    network('n1', subnets=[{'subnet': '10.94.0.0/24'}])
    network('n2', subnets=[{'subnet': '10.95.0.0/24'}])
    client_host('clnt', '10.254.2.1/30', '10.254.2.2/30')
    a, b = namespace('a'), namespace('b')
    attaching.attach(STORE, 'a', a, ['n1'], ['8080:80'], nft=nft())
    attaching.attach(STORE, 'b', b, ['n2'], nft=nft())
    serve(a, 'hello-a')
    seen = {'direct': fetch(b, 'http://10.94.0.2/'), 'published': fetch(b, 'http://10.254.2.1:8080/')}
    both = attaching.attach(STORE, 'b', b, ['n2', 'n1'], nft=nft())
    seen['two_networks'] = sorted(item['interface'] for item in both['networks'].values())
    seen['after_joining'] = fetch(b, 'http://10.94.0.2/')
    seen['left_n1'] = attaching.attach(STORE, 'b', b, ['n2'], nft=nft())['actions']
    seen['after_leaving'] = fetch(b, 'http://10.94.0.2/')
    for name in ('a', 'b'):
        attaching.detach(STORE, name, nft=nft())
    network('n1', state='absent')
    network('n2', state='absent')
    return seen


class CountingNft(Nft):
    """The real nftables backend, counting how often the table is listed."""

    listings = 0

    def list_table(self, family, name):
        CountingNft.listings += 1
        return super().list_table(family, name)


def rule_handles():
    """{(chain, comment): handle} of every rule of the table as the kernel lists it."""
    return {(item['rule']['chain'], item['rule'].get('comment')): item['rule']['handle']
            for item in nft().list_table('inet', 'runcible') if 'rule' in item}


def table_handle():
    """The kernel's handle of the table: a new one when the table is replaced whole."""
    return next(item['table']['handle'] for item in nft().list_table('inet', 'runcible') if 'table' in item)


def chains_rewritten(before, after):
    """The chains whose rules (present before and after) got new handles."""
    return sorted({chain for (chain, comment), handle in before.items() if after.get((chain, comment), handle) != handle})


def scenario_mending():
    """Changes touch only the chains that differ; an unchanged ruleset is not even listed; no process is forked."""
    network('mend', subnets=[{'subnet': '10.89.0.0/24'}])
    a, b, c = namespace('a'), namespace('b'), namespace('c')
    attaching.attach(STORE, 'a', a, ['mend'], ['8080:80'], nft=nft())
    attaching.attach(STORE, 'b', b, ['mend'], ['8081:80'], nft=nft())
    serve(a, 'hello-a')
    handles = rule_handles()
    table = table_handle()
    seen = {}
    forks = []
    os.register_at_fork(before=lambda: forks.append(1))
    path = netns.create('d', NSDIR)[0]
    attaching.attach(STORE, 'd', path, ['mend'], ['8082:80'], nft=CountingNft(NFT_BACKEND))
    seen['rewritten'] = chains_rewritten(handles, rule_handles())
    CountingNft.listings = 0
    seen['noop'] = attaching.attach(STORE, 'b', b, ['mend'], ['8081:80'], nft=CountingNft(NFT_BACKEND))['actions']
    seen['noop_listings'] = CountingNft.listings
    attaching.detach(STORE, 'd', nft=CountingNft(NFT_BACKEND))
    netns.remove('d', NSDIR)
    with netlink.route(c) as inside:
        seen['links_in_c'] = sorted(inside.names())
    seen['forks'] = len(forks)
    # a chain flushed by hand is noticed by the next converge of another container, and mended
    handles = rule_handles()
    nft().run([{'flush': {'chain': {'family': 'inet', 'table': 'runcible', 'name': 'c-a'}}}])
    seen['flushed'] = fetch(None, 'http://127.0.0.1:8080/')
    CountingNft.listings = 0
    seen['mend_actions'] = attaching.attach(STORE, 'b', b, ['mend'], ['8081:80'], nft=CountingNft(NFT_BACKEND))[
        'actions']
    seen['mend_listings'] = CountingNft.listings
    seen['mended'] = fetch(None, 'http://127.0.0.1:8080/')
    seen['mend_rewritten'] = chains_rewritten(handles, rule_handles())
    seen['table_kept'] = table_handle() == table
    seen['in_sync'] = network_info({'name': 'mend', 'network_root': ROOT}, nft=nft())['networks'][0][
        'firewall_in_sync']
    # the last published ports go: their chains are deleted, the network's rules stay, nothing is listed after
    attaching.attach(STORE, 'e', c, ['mend'], nft=nft())
    handles = rule_handles()
    for name in ('a', 'b'):
        attaching.detach(STORE, name, nft=nft())
    seen['unpublished_rewritten'] = chains_rewritten(handles, rule_handles())
    seen['unpublished_table_kept'] = table_handle() == table
    CountingNft.listings = 0
    seen['after_unpublishing'] = attaching.attach(STORE, 'e', c, ['mend'], nft=CountingNft(NFT_BACKEND))['actions']
    seen['after_unpublishing_listings'] = CountingNft.listings
    attaching.detach(STORE, 'e', nft=nft())
    network('mend', state='absent')
    seen['left'] = host_state()
    return seen


def _attach_one(index):
    path = namespace('c%d' % index)
    result = attaching.attach(STORE, 'c%d' % index, path, ['many'], nft=nft())
    return result['networks']['many']['ipv4_address']


def scenario_concurrent():
    network('many', subnets=[{'subnet': '10.96.0.0/24'}])
    import multiprocessing  # pylint: disable=import-outside-toplevel
    with multiprocessing.get_context('fork').Pool(50) as pool:
        addresses = pool.map(_attach_one, range(50))
    seen = {'addresses': addresses}
    for index in range(10, 20):
        attaching.detach(STORE, 'c%d' % index, nft=nft())
    seen['released'] = addresses[10:20]
    seen['reused'] = [_attach_one(index) for index in range(50, 60)]
    seen['kept'] = _attach_one(3)
    seen['endpoints'] = len(STORE.endpoints('many'))
    seen['forced'] = network('many', state='absent', force=True)['changed']
    seen['left'] = host_state()
    return seen


def scenario_bad_input():
    network('good', subnets=[{'subnet': '10.97.0.0/24'}])
    a, b = namespace('a'), namespace('b')
    attaching.attach(STORE, 'a', a, [{'name': 'good', 'ipv4_address': '10.97.0.50'}], ['8080:80'], nft=nft())
    before = host_state()
    seen = {
        'overlap': error_of(network, 'bad', subnets=[{'subnet': '10.97.0.128/25'}]),
        'overlap_list': error_of(network, 'bad', subnets=[{'subnet': '10.98.0.0/24'}, {'subnet': '10.98.0.0/16'}]),
        'long_bridge': error_of(network, 'bad', bridge_name='a-very-long-bridge'),
        'port_taken': error_of(attaching.attach, STORE, 'b', b, ['good'], ['127.0.0.1:8080:80'], nft=nft()),
        'address_taken': error_of(attaching.attach, STORE, 'b', b, [{'name': 'good', 'ipv4_address': '10.97.0.50'}],
                                  nft=nft()),
        'address_outside': error_of(attaching.attach, STORE, 'b', b, [{'name': 'good', 'ipv4_address': '10.1.0.5'}],
                                    nft=nft()),
        'malformed_port': error_of(attaching.attach, STORE, 'b', b, ['good'], ['8080:80', '80:80:80:80'], nft=nft()),
        'ipv6_loopback': error_of(attaching.attach, STORE, 'b', b, ['good'], ['[::1]:8080:80'], nft=nft()),
        'no_network': error_of(attaching.attach, STORE, 'b', b, ['nope'], nft=nft()),
    }
    seen['unchanged'] = host_state() == before
    attaching.detach(STORE, 'a', nft=nft())
    network('good', state='absent')
    return seen


HTTPD = ['httpd', '-f', '-p', '80', '-h', '/www']


def container_bundle(name, path, mounts, args):
    """A busybox bundle (read-only root) in the network namespace file `path`, with `mounts` added; /www
    holds 'served by NAME'. Its folder."""
    from systemlib import default_config, make_rootfs  # pylint: disable=import-outside-toplevel
    bundle = os.path.join(WORK, name)
    make_rootfs(os.path.join(bundle, 'rootfs'))
    os.makedirs(os.path.join(bundle, 'rootfs', 'www'))
    with open(os.path.join(bundle, 'rootfs', 'www', 'index.html'), 'w') as handle:
        handle.write('served by ' + name)
    config = default_config()
    config['process']['args'] = args
    config['root']['readonly'] = True
    config['mounts'].extend(mounts)
    config['linux']['namespaces'] = [item if item['type'] != 'network' else {'type': 'network', 'path': path}
                                     for item in config['linux']['namespaces']]
    with open(os.path.join(bundle, 'config.json'), 'w') as handle:
        json.dump(config, handle)
    return bundle


def scenario_containers():
    """Two busybox containers under bin/runcible, each in a persistent namespace: httpd in one, wget by name."""
    from systemlib import PYTHON, RUNCIBLE  # pylint: disable=import-outside-toplevel
    network('apps', subnets=[{'subnet': '10.99.0.0/24'}])
    runtime_root = os.path.join(WORK, 'runtime')
    names = ('srv%d' % os.getpid(), 'cli%d' % os.getpid())
    seen = {}
    try:
        for name, args in zip(names, (HTTPD, ['sleep', '60'])):
            path = namespace(name)
            result = attaching.attach(STORE, name, path, [{'name': 'apps', 'aliases': [name + '-alias']}], nft=nft())
            bundle = container_bundle(name, path, result['mounts'], args)
            subprocess.run([PYTHON, RUNCIBLE, '--root', runtime_root, 'run', '-d', '--bundle', bundle, name],
                           check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=60)
        time.sleep(0.3)
        execute = [PYTHON, RUNCIBLE, '--root', runtime_root, 'exec', names[1]]
        for key, url in (('by_name', 'http://%s/' % names[0]), ('by_alias', 'http://%s-alias/' % names[0])):
            completed = subprocess.run(execute + ['timeout', '4', 'wget', '-q', '-O', '-', url], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, timeout=30, check=False)
            seen[key] = completed.stdout.decode('utf-8', 'replace').strip()
        completed = subprocess.run(execute + ['cat', '/etc/hosts', '/etc/resolv.conf'], stdout=subprocess.PIPE,
                                   timeout=30, check=False)
        seen['files'] = completed.stdout.decode('utf-8', 'replace')
    finally:
        for name in names:
            subprocess.run([PYTHON, RUNCIBLE, '--root', runtime_root, 'delete', '--force', name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
            attaching.detach(STORE, name, nft=nft())
            netns.remove(name, NSDIR)
        network('apps', state='absent')
    seen['left'] = host_state()
    return seen


class Bundle:
    """What criulib's Checkpointer needs of a bundle."""

    def __init__(self, path):
        self.path = path


def checkpointer(runtime_name):
    """A criulib.Checkpointer of `runtime_name` with its own root, or None when no CRIU works here (why)."""
    from criulib import Checkpointer, find_criu  # pylint: disable=import-outside-toplevel
    from systemlib import runtime_factory  # pylint: disable=import-outside-toplevel
    criu, reason = find_criu()
    if criu is None:
        return None, reason
    runtime = runtime_factory(runtime_name, os.path.join(WORK, runtime_name + '-root'))
    return Checkpointer(runtime, criu, os.path.join(WORK, runtime_name + '.log')), None


def address_inside(cr, name):
    """The IPv4 address on eth0 as the container sees it."""
    output = cr.exec_output(name, 'ip', '-4', '-o', 'addr', 'show', 'eth0') or ''
    words = output.split()
    return words[words.index('inet') + 1] if 'inet' in words else None


def scenario_checkpoint():
    """A container in a persistent network namespace, attached, serving HTTP: checkpoint and restore
    (under RUNTIME) keep its namespace, address and published port."""
    cr, reason = checkpointer(os.environ['RUNTIME'])
    if cr is None:
        return {'skip': reason}
    network('ck', subnets=[{'subnet': '10.87.0.0/24'}])
    name = 'ck%d' % os.getpid()
    path = namespace(name)
    result = attaching.attach(STORE, name, path, ['ck'], ['8090:80'], nft=nft())
    bundle = Bundle(container_bundle(name, path, result['mounts'], HTTPD))
    seen = {'address': result['networks']['ck']['ipv4_address']}
    try:
        seen['run'] = cr.detached('run', '-d', '--bundle', bundle.path, name).returncode
        time.sleep(0.3)
        seen['before'] = (fetch(None, 'http://10.87.0.2/'), fetch(None, 'http://127.0.0.1:8090/'),
                          address_inside(cr, name))
        image = os.path.join(WORK, 'image')
        checkpointed = cr.checkpoint(name, image)
        seen['checkpoint'] = (checkpointed.returncode, checkpointed.stderr.strip()[-300:])
        seen['while_checkpointed'] = (fetch(None, 'http://10.87.0.2/'), cr.ids(), run(
            path, BUSYBOX, 'ip', '-4', '-o', 'addr', 'show', 'eth0')[1].split()[3])
        restored = cr.restore(name, image, bundle)
        seen['restore'] = (restored.returncode, restored.log.strip()[-300:])
        state = cr.state(name) if restored.returncode == 0 else {}
        seen['status'] = state.get('status')
        seen['same_namespace'] = bool(state) and os.stat('/proc/%d/ns/net' % state['pid']).st_ino == os.stat(
            path).st_ino
        seen['after'] = (fetch(None, 'http://10.87.0.2/'), fetch(None, 'http://127.0.0.1:8090/'),
                         address_inside(cr, name))
        seen['reattach'] = attaching.attach(STORE, name, path, ['ck'], ['8090:80'], nft=nft())['actions']
    finally:
        cr.runtime.cleanup()
        attaching.detach(STORE, name, nft=nft())
        netns.remove(name, NSDIR)
        network('ck', state='absent')
    seen['served'] = 'served by ' + name
    seen['left'] = host_state()
    return seen


class OtherHost:
    """The thread (and the processes it starts) inside the network namespace `path`: another host, with the
    network store `store`."""

    def __init__(self, path):
        self.path = path
        self.own = None

    def __enter__(self):
        self.own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        target = os.open(self.path, os.O_RDONLY)
        try:
            syscalls.setns(target, 0x40000000)
        finally:
            os.close(target)
        return self

    def __exit__(self, *exc_info):
        syscalls.setns(self.own, 0x40000000)
        os.close(self.own)


def scenario_move():
    """Checkpoint a served container on this host, restore it on another one (a namespace standing in for a
    second host, with its own network store) after reattach: same address, port, answers."""
    cr, reason = checkpointer('runcible')
    if cr is None:
        return {'skip': reason}
    there = NetworkStore(os.path.join(WORK, 'there'))
    network('mv', subnets=[{'subnet': '10.86.0.0/24'}])
    name = 'mv%d' % os.getpid()
    first = namespace('first')
    attaching.attach(STORE, 'first', first, ['mv'], nft=nft())
    path = namespace(name)
    result = attaching.attach(STORE, name, path, [{'name': 'mv', 'aliases': ['web']}], ['8095:80', '80'], nft=nft())
    bundle = Bundle(container_bundle(name, path, result['mounts'], HTTPD))
    seen = {'here': result['networks']['mv']['ipv4_address'], 'random_port': result['ports'][1]['host_port']}
    host_b = namespace('host-b')
    try:
        seen['run'] = cr.detached('run', '-d', '--bundle', bundle.path, name).returncode
        time.sleep(0.3)
        seen['before'] = fetch(None, 'http://10.86.0.3/')
        moved = attaching.moved_record(STORE, name)
        seen['moved'] = moved
        image = os.path.join(WORK, 'image')
        seen['checkpoint'] = cr.checkpoint(name, image).returncode
        # The container leaves this host: its namespace and its place on the network.
        attaching.detach(STORE, name, nft=nft())
        netns.remove(name, NSDIR)
        moved_first = attaching.moved_record(STORE, 'first')
        with OtherHost(host_b):
            syscalls.interface_up('lo')
            target = namespace(name)
            before = host_state()
            seen['no_network'] = error_of(attaching.reattach, there, name, target, moved, nft=nft())
            seen['unchanged'] = host_state() == before
            network('mv', subnets=[{'subnet': '10.86.0.0/24'}], network_root=there.root)
            other = namespace('other')
            attaching.attach(there, 'other', other, ['mv'], nft=nft())
            moved_in = attaching.reattach(there, name, target, moved, nft=nft())
            seen['there'] = moved_in['networks']['mv']
            seen['there_ports'] = moved_in['ports']
            seen['readdressed'] = moved_in['readdressed']
            # The bundle there binds that host's hosts and resolv.conf (mount sources may differ between hosts).
            with open(os.path.join(bundle.path, 'config.json')) as handle:
                config = json.load(handle)
            config['mounts'] = [mount for mount in config['mounts'] if mount['destination'] not in
                                ('/etc/hosts', '/etc/resolv.conf')] + moved_in['mounts']
            with open(os.path.join(bundle.path, 'config.json'), 'w') as handle:
                json.dump(config, handle)
            restored = cr.restore(name, image, bundle)
            seen['restore'] = (restored.returncode, restored.log.strip()[-300:])
            time.sleep(0.2)
            seen['after'] = (fetch(other, 'http://10.86.0.3/'), fetch(None, 'http://127.0.0.1:8095/'),
                             fetch(None, 'http://127.0.0.1:%s/' % seen['random_port']))
            seen['again'] = attaching.reattach(there, name, target, moved, nft=nft())['actions']
            # an address taken here: another one is given, and said
            seen['taken'] = attaching.reattach(there, 'first', namespace('first-b'), moved_first, nft=nft())[
                'readdressed']
            cr.runtime.cleanup()
            for container in ('first', name, 'other'):
                attaching.detach(there, container, nft=nft())
            network('mv', state='absent', network_root=there.root)
            seen['left_there'] = host_state(there.root)
    finally:
        cr.runtime.cleanup()
        for container in ('first', name):
            attaching.detach(STORE, container, nft=nft())
        network('mv', state='absent')
    seen['served'] = 'served by ' + name
    seen['left'] = host_state()
    return seen


def main():
    syscalls.interface_up('lo')
    try:
        seen = globals()['scenario_' + sys.argv[1]]()
    finally:
        for server in SERVERS:
            server.kill()
            server.wait()
        for name in (os.listdir(NSDIR) if os.path.isdir(NSDIR) else ()):
            netns.remove(name, NSDIR)
        if os.path.isdir(NSDIR):
            syscalls.umount2(NSDIR, 2)
        shutil.rmtree(WORK, ignore_errors=True)
        shutil.rmtree(TOP, ignore_errors=True)
    print(json.dumps(seen))


if __name__ == '__main__':
    main()
