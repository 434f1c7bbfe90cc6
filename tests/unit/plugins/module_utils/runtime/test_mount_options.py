# -*- coding: utf-8 -*-
from ansible_collections.runcible.oci.plugins.module_utils.runtime.linux import consts as c
from ansible_collections.runcible.oci.plugins.module_utils.runtime.rootfs import options


def test_flags_propagation_and_data_are_separated():
    parsed = options.parse(['rbind', 'ro', 'nosuid', 'rslave', 'size=64k', 'mode=755', 'tmpcopyup'])
    assert parsed.flags == c.MS_BIND | c.MS_REC | c.MS_RDONLY | c.MS_NOSUID
    assert parsed.propagation == [c.MS_SLAVE | c.MS_REC]
    assert parsed.data == 'size=64k,mode=755'
    assert parsed.extensions == ['tmpcopyup'] and parsed.is_bind


def test_later_options_clear_earlier_ones():
    assert options.parse(['ro', 'rw']).flags == 0
    assert options.parse(['nosuid', 'suid', 'noexec']).flags == c.MS_NOEXEC
    assert options.parse(['norelatime']).flags == 0
    assert options.parse(None).data == ''
