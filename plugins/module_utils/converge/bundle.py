# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What oci_bundle does: converge an OCI bundle (rootfs and config.json) to an image and the options.

    source   `image`, a reference in the store; or `rootfs`, an archive or folder
             imported into the store (under `image` when given), so that the same
             input gives the same digest and the rootfs is left alone
    rootfs   bundle/rootfs.py's ensure_rootfs: rewritten only when the image or
             the mode changed (copy), mounted again when the overlay was lost
    config   generated from runc's defaults, the image config and the options,
             validated, written only when its content changed
    volumes  the image's Volumes seeded once into <bundle>/volumes

Check mode changes nothing: an import goes to a temporary store, and when the
rootfs would be rewritten the users named by process.user are looked up in
the image's layers instead of an unpacked rootfs. Diff mode shows config.json
before/after and the rootfs's image and digest before/after.
"""

import collections
import contextlib
import hashlib
import os
import re
import shutil
import tempfile

from ..bundle.config import generate_config
from ..bundle.rootfs import ensure_rootfs, read_state, remove_rootfs
from ..bundle.users import MAX_FILE
from ..bundle.validate import validate_config
from ..bundle.volumes import prepare_volumes
from ..bundle.writer import read_config, render, write_config
from ..image import overlay
from ..image import reference as references
from ..image.errors import ImageNotFound, StoreError
from ..image.layout_reader import OCILayout
from ..image.store import Store
from ..runtime.errors import ConfigError
from .bundle_options import option_path, params_to_options
from .failures import about
from .scratch import scratch_store

Source = collections.namedtuple('Source', 'layout digest reference')
USER_FILES = ((b'etc', b'passwd'), (b'etc', b'group'))
# What marks a folder as a bundle that state=absent may remove.
BUNDLE_FILES = ('config.json', 'runcible.json')


def ensure_bundle(params, check_mode=False, diff=False):
    """Converge the bundle at params['path']; return the module result (with `warnings` to emit)."""
    bundle = os.path.abspath(params['path'])
    if params['state'] == 'absent':
        return _remove(bundle, check_mode, diff)
    store = Store(params['store'])
    recorded = read_state(bundle).get('rootfs') or {}
    options = _library_options(params)
    with _source(store, params, check_mode) as source:
        with about('image'):
            image = OCILayout(source.layout).image(digest=source.digest)
            planned = _ensure_rootfs(bundle, source, params, check_mode=True)
        # The config is made and validated before the rootfs is touched: bad settings (or a user the image lacks)
        # cost no unpack and leave no half-made bundle. Users come from the image's layers when the rootfs is to be
        # (re)made, as in check mode, which predicts the config a real run writes.
        with _user_lookup_root(source.layout, image, planned.path, not planned.changed) as users_root:
            config = _generate(image.config, users_root, options)
        _check(config)
        with _undone_on_failure(bundle, active=not check_mode):
            rootfs = planned
            if not check_mode:
                with about('image'):
                    rootfs = _ensure_rootfs(bundle, source, params)
                if rootfs.changed:
                    # The unpacked rootfs has the last word (an overlay's kept upper directory may differ).
                    config = _generate(image.config, rootfs.path, options)
                    _check(config)
            with about('path'):
                volumes = prepare_volumes(bundle, config, rootfs.path, check_mode=check_mode)
                config_changed, before, after = write_config(bundle, config, check_mode=check_mode)
    result = {
        'changed': rootfs.changed or config_changed or bool(volumes),
        'path': bundle,
        'image': source.reference,
        'image_digest': source.digest,
        'config': config,
        'config_digest': 'sha256:' + hashlib.sha256(after.encode('utf-8')).hexdigest(),
        'config_changed': config_changed,
        'rootfs_digest': rootfs.digest,
        'rootfs_mode': rootfs.mode,
        'rootfs_changed': rootfs.changed,
        'rootfs_action': rootfs.action,
        'volumes_created': volumes,
        'warnings': list(rootfs.warnings),
    }
    if diff:
        result['diff'] = _diff(bundle, before, after, recorded, rootfs, source)
    return result


def _ensure_rootfs(bundle, source, params, check_mode=False):
    return ensure_rootfs(bundle, source.layout, digest=source.digest, mode=params['rootfs_mode'],
                         layer_cache=params.get('layer_cache'), check_mode=check_mode)


@contextlib.contextmanager
def _undone_on_failure(bundle, active=True):
    """On a failure, remove what this run added to the bundle folder (the folder itself if it made it).

    What was there before the run is never removed; the settings are validated before anything is written, so
    what can still fail here is the host (disk full, a mount refused), not the input.
    """
    if not active:
        yield
        return
    existed = set(os.listdir(bundle)) if os.path.isdir(bundle) else None
    try:
        yield
    except BaseException:
        if existed is None:
            if os.path.isdir(bundle):
                remove_rootfs(bundle)
                overlay.remove_dir(bundle)
        else:
            made = set(os.listdir(bundle)) - existed if os.path.isdir(bundle) else set()
            if 'rootfs' in made:
                remove_rootfs(bundle)
            for name in made:
                if os.path.lexists(os.path.join(bundle, name)):
                    overlay.remove_dir(os.path.join(bundle, name))
        raise


def _generate(image_config, users_root, options):
    """generate_config, its errors naming the option (resources.memory.limit) rather than the config.json field."""
    try:
        return generate_config(image_config, users_root, options)
    except ConfigError as exc:
        option = option_path(exc.field)
        if option == exc.field:
            raise
        raise ConfigError(option, exc.reason)


def _check(config):
    """Validate the generated config.json; ConfigError naming the option to fix (and the config.json field)."""
    problems = validate_config(config)
    if not problems:
        return
    described = []
    for field, message in problems:
        option = option_path(field)
        described.append((option, message if option == field else '%s (config.json %s)' % (message, field)))
    first, message = described[0]
    if len(described) > 1:
        message += ' (and %d more problems: %s)' % (len(described) - 1, '; '.join('%s: %s' % item for item in described[1:]))
    raise ConfigError(first, message)


def _library_options(params):
    options = params_to_options(params)
    options['config'] = params.get('config')
    options['image_volumes'] = params.get('image_volumes')
    return options


# -- source -------------------------------------------------------------------

def rootfs_reference(source):
    """The store reference a rootfs archive or folder is imported under when `image` does not name one."""
    source = os.path.abspath(source)
    name = re.sub(r'[^a-z0-9]+', '-', os.path.basename(source.rstrip('/')).lower()).strip('-') or 'rootfs'
    return 'localhost/rootfs/%s:%s' % (name[:64], hashlib.sha256(source.encode('utf-8', 'surrogateescape')).hexdigest()[:16])


@contextlib.contextmanager
def _source(store, params, check_mode):
    """The Source (layout path, manifest digest, reference) the bundle's rootfs comes from."""
    if params.get('rootfs'):
        reference = str(references.parse(params['image'], field='image')) if params.get('image') \
            else rootfs_reference(params['rootfs'])
        if check_mode:
            with scratch_store() as scratch:
                yield _imported(scratch, reference, params)
        else:
            yield _imported(store, reference, params)
        return
    reference = str(references.parse(params['image'], field='image'))
    with about('image', ((StoreError, 'store'),)):
        if not store.exists():
            raise ImageNotFound('image %s is not in the store %s (there is no store yet): pull or import it first '
                                'with runcible.oci.oci_image' % (reference, store.root))
        entry = store.resolve(reference)
    yield Source(store.root, entry['digest'], reference)


def _imported(store, reference, params):
    # Imported here: a bundle from an image in the store does not need the importers.
    from ..image import importers  # pylint: disable=import-outside-toplevel
    with about('rootfs', ((StoreError, 'store'),)):
        imported = importers.import_image(store, params['rootfs'], reference=reference, fmt=params.get('rootfs_format'))
    return Source(store.root, imported['digest'], imported['reference'])


# -- users in check mode ----------------------------------------------------------

@contextlib.contextmanager
def _user_lookup_root(layout, image, rootfs, unpacked):
    """Where process.user names are looked up: the rootfs, or (check mode, rootfs not yet made) the image's files."""
    if unpacked:
        yield rootfs
        return
    folder = tempfile.mkdtemp(prefix='runcible-users-')
    try:
        _copy_user_files(layout, image, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_user_files(layout, image, target):
    """Write the image's /etc/passwd and /etc/group, as its layers leave them, under `target`."""
    # Imported here: the layer readers (and their decompressors) are needed only while a rootfs is to be made.
    from ..image import layers  # pylint: disable=import-outside-toplevel
    found = {}
    reader_layout = OCILayout(layout)
    for index, descriptor in enumerate(image.layers):
        diff_id = image.diff_ids[index] if index < len(image.diff_ids) else None
        added = {}
        with layers.LayerReader(reader_layout, descriptor, diff_id) as reader:
            for entry in reader.entries():
                # Whiteouts act on the layers below only, whatever their order in this layer.
                for parts in USER_FILES:
                    if _removes(entry, parts):
                        found.pop(parts, None)
                if entry.parts in USER_FILES:
                    if entry.kind == layers.FILE:
                        added[entry.parts] = reader.data(entry).read(MAX_FILE + 1)
                    elif entry.kind != layers.WHITEOUT:
                        added.pop(entry.parts, None)
        found.update(added)
    os.mkdir(os.path.join(target, 'etc'))
    for parts, data in found.items():
        with open(os.path.join(target, *[p.decode('utf-8', 'surrogateescape') for p in parts]), 'wb') as handle:
            handle.write(data)


def _removes(entry, parts):
    """True if layer entry `entry` removes or replaces the file at `parts` (or a folder above it)."""
    from ..image import layers  # pylint: disable=import-outside-toplevel
    if entry.kind == layers.OPAQUE:
        return parts[:len(entry.parts)] == entry.parts and len(entry.parts) < len(parts)
    if entry.parts == parts:
        return True
    return parts[:len(entry.parts)] == entry.parts and (entry.kind == layers.WHITEOUT or entry.kind != layers.DIR)


# -- diff -----------------------------------------------------------------------

def _rootfs_text(image, mode, digest):
    if not image:
        return ''
    return 'image: %s\nmode: %s\ndigest: %s\n' % (image, mode, digest or '(computed when the rootfs is made)')


def _diff(bundle, before, after, recorded, rootfs, source):
    diffs = [{'before_header': os.path.join(bundle, 'config.json'), 'after_header': os.path.join(bundle, 'config.json'),
              'before': before, 'after': after}]
    if rootfs.changed:
        diffs.append({'before_header': os.path.join(bundle, 'rootfs'), 'after_header': os.path.join(bundle, 'rootfs'),
                      'before': _rootfs_text(recorded.get('image'), recorded.get('mode'), recorded.get('digest')),
                      'after': _rootfs_text(source.digest, rootfs.mode, rootfs.digest)})
    return diffs


# -- absent ---------------------------------------------------------------------

def _remove(bundle, check_mode, diff):
    result = {'changed': False, 'path': bundle, 'warnings': []}
    if not os.path.lexists(bundle):
        return result
    if bundle == '/' or not os.path.isdir(bundle) or os.path.islink(bundle):
        raise ConfigError('path', '%s is not a bundle folder: refusing to remove it' % bundle)
    names = os.listdir(bundle)
    if names and not any(name in names for name in BUNDLE_FILES):
        raise ConfigError('path', '%s holds neither config.json nor runcible.json, so it is not a bundle: refusing to '
                                  'remove it (remove it yourself if it is one)' % bundle)
    before = read_config(bundle)
    result['changed'] = True
    if diff:
        result['diff'] = {'before_header': os.path.join(bundle, 'config.json'), 'before': render(before) if before else '',
                          'after_header': os.path.join(bundle, 'config.json'), 'after': ''}
    if not check_mode:
        with about('path'):
            remove_rootfs(bundle)
            overlay.remove_dir(bundle)
    return result
