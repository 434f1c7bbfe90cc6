# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON Schema (draft-04) of config.json for Linux, written for this project.

It follows the runtime-spec up to v1.2 (field names as the spec's Go types
write them) and says what a schema can say: types, required fields, ranges,
enumerations and patterns. What it cannot say (a user namespace needs ID
mappings, a sysctl needs its namespace, soft <= hard) is the runtime's rule set,
runtime/spec/config.py, which bundle/validate.py runs after the schema.

`runtime_spec_schema(strict=True)` also forbids keys the spec does not
define, which catches typos ("noNewPrivilege"); the runtime-spec itself
tells runtimes to ignore unknown keys, so strict mode is a choice of this
project, and `strict=False` gives the permissive schema.

Only these keywords are used, so that validate.py's own validator and the
jsonschema package agree: type, properties, required, items, enum, pattern,
minimum, maximum, minLength, minItems, additionalProperties, $ref (to
#/definitions/...), description.
"""

import copy


def _int(low, high):
    return {'type': 'integer', 'minimum': low, 'maximum': high}


def _ref(name):
    return {'$ref': '#/definitions/%s' % name}


def _array(items, **extra):
    result = {'type': 'array', 'items': items}
    result.update(extra)
    return result


def _object(properties, required=(), **extra):
    result = {'type': 'object', 'properties': properties}
    if required:
        result['required'] = list(required)
    result.update(extra)
    return result


def _map_of(value_schema):
    """An object whose keys are free (annotations, sysctl, ...): never made strict."""
    return {'type': 'object', 'additionalProperties': value_schema}


STRING = {'type': 'string'}
BOOLEAN = {'type': 'boolean'}
STRINGS = _array(STRING)

DEFINITIONS = {
    'int32': _int(-2 ** 31, 2 ** 31 - 1),
    'int64': _int(-2 ** 63, 2 ** 63 - 1),
    'uint16': _int(0, 2 ** 16 - 1),
    'uint32': _int(0, 2 ** 32 - 1),
    'uint64': _int(0, 2 ** 64 - 1),
    'AbsolutePath': {'type': 'string', 'pattern': '^/', 'description': 'an absolute path'},
    'Env': _array({'type': 'string', 'pattern': '^[^=]+=', 'description': 'NAME=value'}),
    'Capability': {'type': 'string', 'pattern': '^CAP_[A-Z_]+$'},
    'Capabilities': _array(_ref('Capability')),
    'IDMapping': _object({'containerID': _ref('uint32'), 'hostID': _ref('uint32'), 'size': _ref('uint32')},
                         required=('containerID', 'hostID', 'size')),
    'Mount': _object({
        'destination': STRING,
        'source': STRING,
        'type': STRING,
        'options': STRINGS,
        'uidMappings': _array(_ref('IDMapping')),
        'gidMappings': _array(_ref('IDMapping')),
    }, required=('destination',)),
    'Hook': _object({
        'path': _ref('AbsolutePath'),
        'args': STRINGS,
        'env': _ref('Env'),
        'timeout': _int(1, 2 ** 31 - 1),
    }, required=('path',)),
    'Hooks': _array(_ref('Hook')),
    'NamespaceType': {'type': 'string',
                      'enum': ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time']},
    'Namespace': _object({'type': _ref('NamespaceType'), 'path': _ref('AbsolutePath')}, required=('type',)),
    'Device': _object({
        'type': {'type': 'string', 'enum': ['c', 'b', 'u', 'p']},
        'path': _ref('AbsolutePath'),
        'major': _ref('int64'),
        'minor': _ref('int64'),
        'fileMode': _ref('uint32'),
        'uid': _ref('uint32'),
        'gid': _ref('uint32'),
    }, required=('type', 'path')),
    'DeviceCgroup': _object({
        'allow': BOOLEAN,
        'type': {'type': 'string', 'enum': ['a', 'c', 'b']},
        'major': _ref('int64'),
        'minor': _ref('int64'),
        'access': {'type': 'string', 'pattern': '^[rwm]*$'},
    }, required=('allow',)),
    'BlockIODeviceWeight': _object({
        'major': _ref('int64'), 'minor': _ref('int64'), 'weight': _ref('uint16'), 'leafWeight': _ref('uint16'),
    }, required=('major', 'minor')),
    'BlockIODeviceThrottle': _object({
        'major': _ref('int64'), 'minor': _ref('int64'), 'rate': _ref('uint64'),
    }, required=('major', 'minor', 'rate')),
    'SeccompAction': {'type': 'string', 'enum': [
        'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
        'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY']},
    'SeccompArch': {'type': 'string', 'pattern': '^SCMP_ARCH_[A-Z0-9_]+$'},
    'SeccompFlag': {'type': 'string', 'pattern': '^SECCOMP_FILTER_FLAG_[A-Z_]+$'},
    'SeccompOperator': {'type': 'string', 'enum': [
        'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT',
        'SCMP_CMP_MASKED_EQ']},
    'Syscall': _object({
        'names': _array(STRING, minItems=1),
        'action': _ref('SeccompAction'),
        'errnoRet': _ref('uint32'),
        'args': _array(_object({
            'index': _ref('uint32'), 'value': _ref('uint64'), 'valueTwo': _ref('uint64'), 'op': _ref('SeccompOperator'),
        }, required=('index', 'value', 'op'))),
    }, required=('names', 'action')),
}

PROCESS = _object({
    'terminal': BOOLEAN,
    'consoleSize': _object({'height': _ref('uint32'), 'width': _ref('uint32')}, required=('height', 'width')),
    'cwd': {'type': 'string', 'minLength': 1},
    'env': _ref('Env'),
    'args': STRINGS,
    'commandLine': STRING,
    'rlimits': _array(_object({
        'type': {'type': 'string', 'pattern': '^RLIMIT_[A-Z]+$'},
        'soft': _ref('uint64'),
        'hard': _ref('uint64'),
    }, required=('type', 'soft', 'hard'))),
    'apparmorProfile': STRING,
    'capabilities': _object({name: _ref('Capabilities')
                             for name in ('bounding', 'effective', 'inheritable', 'permitted', 'ambient')}),
    'noNewPrivileges': BOOLEAN,
    'oomScoreAdj': _int(-1000, 1000),
    'scheduler': _object({
        'policy': {'type': 'string', 'enum': ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO',
                                              'SCHED_IDLE', 'SCHED_DEADLINE']},
        'nice': _ref('int32'),
        'priority': _ref('int32'),
        'flags': _array({'type': 'string', 'pattern': '^SCHED_FLAG_[A-Z_]+$'}),
        'runtime': _ref('uint64'),
        'deadline': _ref('uint64'),
        'period': _ref('uint64'),
    }, required=('policy',)),
    'selinuxLabel': STRING,
    'ioPriority': _object({
        'class': {'type': 'string', 'enum': ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE']},
        'priority': _ref('int32'),
    }, required=('class',)),
    'execCPUAffinity': _object({'initial': {'type': 'string', 'pattern': '^[0-9, -]*$'},
                                'final': {'type': 'string', 'pattern': '^[0-9, -]*$'}}),
    'user': _object({
        'uid': _ref('uint32'),
        'gid': _ref('uint32'),
        'umask': _ref('uint32'),
        'additionalGids': _array(_ref('uint32')),
        'username': STRING,
    }, required=('uid', 'gid')),
}, required=('cwd',))

RESOURCES = _object({
    'devices': _array(_ref('DeviceCgroup')),
    'memory': _object({
        'limit': _ref('int64'),
        'reservation': _ref('int64'),
        'swap': _ref('int64'),
        'kernel': _ref('int64'),
        'kernelTCP': _ref('int64'),
        'swappiness': _int(0, 100),
        'disableOOMKiller': BOOLEAN,
        'useHierarchy': BOOLEAN,
        'checkBeforeUpdate': BOOLEAN,
    }),
    'cpu': _object({
        'shares': _ref('uint64'),
        'quota': _ref('int64'),
        'burst': _ref('uint64'),
        'period': _ref('uint64'),
        'realtimeRuntime': _ref('int64'),
        'realtimePeriod': _ref('uint64'),
        'cpus': STRING,
        'mems': STRING,
        'idle': _ref('int64'),
    }),
    'pids': _object({'limit': _ref('int64')}, required=('limit',)),
    'blockIO': _object({
        'weight': _ref('uint16'),
        'leafWeight': _ref('uint16'),
        'weightDevice': _array(_ref('BlockIODeviceWeight')),
        'throttleReadBpsDevice': _array(_ref('BlockIODeviceThrottle')),
        'throttleWriteBpsDevice': _array(_ref('BlockIODeviceThrottle')),
        'throttleReadIOPSDevice': _array(_ref('BlockIODeviceThrottle')),
        'throttleWriteIOPSDevice': _array(_ref('BlockIODeviceThrottle')),
    }),
    'hugepageLimits': _array(_object({'pageSize': STRING, 'limit': _ref('uint64')}, required=('pageSize', 'limit'))),
    'network': _object({
        'classID': _ref('uint32'),
        'priorities': _array(_object({'name': STRING, 'priority': _ref('uint32')}, required=('name', 'priority'))),
    }),
    'rdma': _map_of(_object({'hcaHandles': _ref('uint32'), 'hcaObjects': _ref('uint32')})),
    'unified': _map_of(STRING),
})

LINUX = _object({
    'namespaces': _array(_ref('Namespace')),
    'uidMappings': _array(_ref('IDMapping')),
    'gidMappings': _array(_ref('IDMapping')),
    'timeOffsets': _map_of(_object({'secs': _ref('int64'), 'nanosecs': _ref('uint32')})),
    'devices': _array(_ref('Device')),
    'netDevices': _map_of(_object({'name': STRING})),
    'cgroupsPath': STRING,
    'resources': RESOURCES,
    'rootfsPropagation': {'type': 'string', 'enum': ['', 'private', 'rprivate', 'slave', 'rslave', 'shared',
                                                     'rshared', 'unbindable', 'runbindable']},
    'seccomp': _object({
        'defaultAction': _ref('SeccompAction'),
        'defaultErrnoRet': _ref('uint32'),
        'architectures': _array(_ref('SeccompArch')),
        'flags': _array(_ref('SeccompFlag')),
        'listenerPath': STRING,
        'listenerMetadata': STRING,
        'syscalls': _array(_ref('Syscall')),
    }, required=('defaultAction',)),
    'sysctl': _map_of(STRING),
    'maskedPaths': _array(_ref('AbsolutePath')),
    'readonlyPaths': _array(_ref('AbsolutePath')),
    'mountLabel': STRING,
    'intelRdt': _object({
        'closID': STRING,
        'l3CacheSchema': STRING,
        'memBwSchema': STRING,
        'enableCMT': BOOLEAN,
        'enableMBM': BOOLEAN,
    }),
    'personality': _object({'domain': {'type': 'string', 'enum': ['LINUX', 'LINUX32']}, 'flags': STRINGS},
                           required=('domain',)),
})

HOOKS = ('prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop')

CONFIG = _object({
    'ociVersion': {'type': 'string', 'pattern': r'^1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$'},
    'root': _object({'path': {'type': 'string', 'minLength': 1}, 'readonly': BOOLEAN}, required=('path',)),
    'mounts': _array(_ref('Mount')),
    'process': PROCESS,
    'hostname': STRING,
    'domainname': STRING,
    'hooks': _object({name: _ref('Hooks') for name in HOOKS}),
    'annotations': _map_of(STRING),
    'linux': LINUX,
}, required=('ociVersion', 'root'))


def _make_strict(node):
    if isinstance(node, dict):
        if node.get('type') == 'object' and 'properties' in node and 'additionalProperties' not in node:
            node['additionalProperties'] = False
        for value in node.values():
            _make_strict(value)
    elif isinstance(node, list):
        for value in node:
            _make_strict(value)


def runtime_spec_schema(strict=True):
    """The config.json schema, as a new dict (callers may keep or change it)."""
    schema = copy.deepcopy(CONFIG)
    schema['$schema'] = 'http://json-schema.org/draft-04/schema#'
    schema['description'] = 'OCI runtime-spec config.json (Linux), as runcible.oci validates it'
    schema['definitions'] = copy.deepcopy(DEFINITIONS)
    if strict:
        _make_strict(schema)
    return schema
