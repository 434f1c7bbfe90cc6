# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime log lines in runc's formats (logrus text or JSON).

The library reports warnings and debug lines here; the CLI decides where they
go (--log, --log-format, --debug), and the modules collect warnings instead.
"""

import sys
import time

from . import jsonc

LEVELS = {'debug': 10, 'info': 20, 'warning': 30, 'error': 40}

_config = {'stream': None, 'format': 'text', 'level': LEVELS['warning'], 'collect': None}


def configure(stream=None, fmt='text', debug=False, collect=None):
    """Send log lines to `stream` (default stderr) in `fmt`, or into the list `collect`."""
    _config.update(stream=stream, format=fmt, level=LEVELS['debug' if debug else 'warning'],
                   collect=collect)


def _timestamp():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def format_line(level, message, fmt='text'):
    """One log line as runc writes it."""
    if fmt == 'json':
        return jsonc.dumps({'level': level, 'msg': message, 'time': _timestamp()}, compact=True)
    return 'time="%s" level=%s msg=%s' % (_timestamp(), level, jsonc.dumps(message))


def emit(level, message):
    if LEVELS[level] < _config['level']:
        return
    if _config['collect'] is not None:
        _config['collect'].append((level, message))
        return
    stream = _config['stream'] or sys.stderr
    try:
        stream.write(format_line(level, message, _config['format']) + '\n')
        stream.flush()
    except (OSError, ValueError):
        pass


def debug(message):
    emit('debug', message)


def warning(message):
    emit('warning', message)


def error(message):
    emit('error', message)


def last_error(path):
    """The msg of the last error-level line of a runtime's JSON log (runc's --log-format json, as this module writes it): None if there is none."""
    message = None
    try:
        with open(path, 'rb') as handle:
            for line in handle:
                try:
                    entry = jsonc.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get('level') in ('error', 'fatal'):
                    message = entry.get('msg')
    except OSError:
        return None
    return message
