# -*- coding: utf-8 -*-
"""runc's command-line rules: flags before arguments, Go flag syntax."""

import pytest

from ansible_collections.runcible.oci.plugins.module_utils.runtime import errors
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cli import main, parser
from ansible_collections.runcible.oci.plugins.module_utils.runtime.cli.parser import Flag

FLAGS = [Flag(['bundle', 'b'], True, ''), Flag(['detach', 'd']), Flag(['env', 'e'], True, multiple=True)]


def test_flags_stop_at_the_first_argument():
    parsed = parser.parse(FLAGS, ['-d', '--bundle', '/b', 'id', 'ls', '-l', '--bundle', 'x'])
    assert parsed.detach is True and parsed.bundle == '/b'
    assert parsed.args == ['id', 'ls', '-l', '--bundle', 'x']


def test_equals_forms_short_and_long_and_double_dash():
    parsed = parser.parse(FLAGS, ['-b=/x', '--detach=false', '-e', 'A=1', '--env=B=2', '--', '-d'])
    assert (parsed.bundle, parsed.detach, parsed.env, parsed.args) == ('/x', False, ['A=1', 'B=2'], ['-d'])


@pytest.mark.parametrize('argv, message', [
    (['--nope'], 'flag provided but not defined: -nope'),
    (['--bundle'], 'flag needs an argument: -bundle'),
    (['--detach=maybe'], "invalid boolean value 'maybe' for -detach"),
])
def test_usage_errors(argv, message):
    with pytest.raises(errors.UsageError) as caught:
        parser.parse(FLAGS, argv)
    assert caught.value.message == message


def test_table_matches_go_tabwriter():
    """minwidth 12, padding 3, last column unpadded: as runc list prints it."""
    rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
            ['c1', '5726', 'created', '/tmp/b1', '2026-11-28T23:47:35.976181213Z', 'root']]
    assert main.format_table(rows) == (
        'ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n'
        'c1          5726        created     /tmp/b1     2026-11-28T23:47:35.976181213Z   root\n')


def test_unknown_command_exits_3(capsys):
    assert main.main(['--root', '/nonexistent-root', 'frobnicate']) == 3
    assert "No help topic for 'frobnicate'" in capsys.readouterr().err


def test_argument_count_is_checked(capsys):
    assert main.main(['--root', '/nonexistent-root', 'state']) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith('Incorrect Usage.')
    assert '\\"state\\" requires exactly 1 argument(s)' in captured.err


def test_list_of_a_missing_root_is_empty(capsys):
    assert main.main(['--root', '/nonexistent-root', 'list', '--format', 'json']) == 0
    assert capsys.readouterr().out == 'null\n'
    assert main.main(['--root', '/nonexistent-root', 'list']) == 0
    assert capsys.readouterr().out.split() == ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']


def test_spec_writes_runc_default_and_refuses_to_overwrite(tmp_path, capsys):
    assert main.main(['spec', '--bundle', str(tmp_path)]) == 0
    text = (tmp_path / 'config.json').read_text()
    assert text.startswith('{\n\t"ociVersion": "1.0.2-dev",\n\t"process": {')
    assert not text.endswith('\n')
    assert main.main(['spec', '--bundle', str(tmp_path)]) == 1
    assert 'File config.json exists. Remove it first' in capsys.readouterr().err


def test_log_format_json(tmp_path):
    log_file = tmp_path / 'log'
    assert main.main(['--log', str(log_file), '--log-format', 'json', '--root', str(tmp_path), 'state', 'x']) == 1
    import json
    line = json.loads(log_file.read_text().splitlines()[-1])
    assert (line['level'], line['msg']) == ('error', 'container does not exist')
    assert sorted(line) == ['level', 'msg', 'time']


@pytest.mark.parametrize('command', [c.name for c in main.COMMANDS])
@pytest.mark.parametrize('flag', ['--help', '-h'])
def test_every_command_has_help(capsys, command, flag):
    """Like runc: `COMMAND --help` prints its help and exits 0 (podman probes `checkpoint --help`)."""
    assert main.main(['--root', '/nonexistent-root', command, flag]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith('NAME:\n   %s %s - ' % (main._program(), command))
    assert '\nUSAGE:\n' in captured.out and captured.err == ''


def test_help_command(capsys):
    assert main.main(['help', 'kill']) == 0
    assert capsys.readouterr().out.startswith('NAME:\n   %s kill - ' % main._program())
    assert main.main(['help']) == 0
    assert '\nCOMMANDS:\n' in capsys.readouterr().out
    assert main.main(['help', 'frobnicate']) == 3
    assert "No help topic for 'frobnicate'" in capsys.readouterr().err


def test_an_unknown_flag_before_help_is_still_an_error(capsys):
    assert main.main(['kill', '--bogus', '--help']) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith('Incorrect Usage: flag provided but not defined: -bogus')
