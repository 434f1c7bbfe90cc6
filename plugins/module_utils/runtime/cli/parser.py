# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Command-line parsing with runc's rules (urfave/cli v1 over Go's flag package).

Flags come before positional arguments: parsing stops at the first argument
that is not a flag, or after "--", so `exec ID ls -l` passes "-l" to ls.
Flags may be written -f or --flag, with the value as "--flag=v" or "--flag v".
"""

from .. import errors


class Flag:
    """One flag: its names, whether it takes a value, its default, help text."""

    def __init__(self, names, takes_value=False, default=None, help_text='', multiple=False):
        self.names = names
        self.takes_value = takes_value
        self.default = default if default is not None else ([] if multiple else (None if takes_value else False))
        self.help = help_text
        self.multiple = multiple

    @property
    def key(self):
        return self.names[0].replace('-', '_')


class Command:
    """A subcommand: name, flags, how many arguments, help, and the function that runs it."""

    def __init__(self, name, summary, usage, flags=(), min_args=0, max_args=0, description='', func=None,
                 aliases=()):
        self.name = name
        self.summary = summary
        self.usage = usage
        self.flags = list(flags)
        self.min_args = min_args
        self.max_args = max_args
        self.description = description
        self.func = func
        self.aliases = aliases


class Parsed:
    def __init__(self, values, args):
        self.values = values
        self.args = args

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name)


_TRUE = ('1', 't', 'T', 'true', 'TRUE', 'True')
_FALSE = ('0', 'f', 'F', 'false', 'FALSE', 'False')


def parse(flags, argv):
    """Parse `argv` against `flags`; UsageError on an unknown flag or a missing value."""
    by_name = {}
    for flag in flags:
        for name in flag.names:
            by_name[name] = flag
    values = {flag.key: (list(flag.default) if flag.multiple else flag.default) for flag in flags}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == '--':
            index += 1
            break
        if not arg.startswith('-') or arg == '-':
            break
        name = arg.lstrip('-')
        value = None
        if '=' in name:
            name, value = name.split('=', 1)
        flag = by_name.get(name)
        if flag is None:
            raise errors.UsageError('flag provided but not defined: -%s' % name)
        if flag.takes_value:
            if value is None:
                index += 1
                if index >= len(argv):
                    raise errors.UsageError('flag needs an argument: -%s' % name)
                value = argv[index]
        elif value is None:
            value = True
        elif value in _TRUE:
            value = True
        elif value in _FALSE:
            value = False
        else:
            raise errors.UsageError('invalid boolean value %r for -%s' % (value, name))
        if flag.multiple:
            values[flag.key].append(value)
        else:
            values[flag.key] = value
        index += 1
    return Parsed(values, argv[index:])


def command_help(program, command):
    lines = ['NAME:', '   %s %s - %s' % (program, command.name, command.summary), '', 'USAGE:',
             '   %s %s %s' % (program, command.name, command.usage)]
    if command.description:
        lines += ['', 'DESCRIPTION:', '   ' + command.description]
    if command.flags:
        lines += ['', 'OPTIONS:']
        for flag in command.flags:
            names = ', '.join(('--' if len(n) > 1 else '-') + n + (' value' if flag.takes_value and n == flag.names[-1] else '')
                              for n in flag.names)
            lines.append('   %-30s %s' % (names, flag.help))
    return '\n'.join(lines) + '\n'
