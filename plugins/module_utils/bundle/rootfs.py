# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a bundle's root filesystem to an image: `copy` or `overlay` mode, idempotently.

`ensure_rootfs(bundle, layout, digest=..., mode=...)` leaves <bundle>/rootfs
holding the image and records what it holds in <bundle>/runcible.json:

- copy: the layers are unpacked into a new directory beside the rootfs,
  which then replaces it (the bundle owns its copy). Nothing is rewritten
  while the recorded image digest and mode match.
- overlay: missing layers are unpacked once into the shared layer cache,
  and <bundle>/rootfs is an overlay mount of them with the bundle's own
  <bundle>/overlay/upper and work directories. A mount lost at reboot is
  mounted again (keeping the upper directory, so the container's changes
  survive); a new image or mode starts from an empty upper directory.

The result carries `changed` and the rootfs digest (treedigest.py): for an
overlay whose upper directory is empty it comes from the layer cache, so a
new bundle of a cached image costs a mount and no tree walk.
"""

import json
import os
import tempfile

from ..image import overlay
from ..image.errors import LayerError
from ..image.layout_reader import OCILayout
from ..runtime.errors import ConfigError

# The unpacker and the tree digest are imported where a rootfs is made or measured: a current rootfs (a
# no-op, the common run) needs neither (docs/benchmarks.md).

STATE_FILE = 'runcible.json'
MODES = ('copy', 'overlay')


class RootfsResult:
    """What ensure_rootfs did: changed, mode, image digest, rootfs path and digest, warnings."""

    def __init__(self, changed, mode, image, path, digest, warnings=(), stats=None, action='none'):
        self.changed = changed
        self.mode = mode
        self.image = image
        self.path = path
        self.digest = digest
        self.warnings = list(warnings)
        self.stats = stats
        self.action = action

    def as_dict(self):
        return {'changed': self.changed, 'mode': self.mode, 'image': self.image, 'path': self.path,
                'digest': self.digest, 'action': self.action, 'warnings': self.warnings}


def read_state(bundle):
    """The bundle's runcible.json as a dict ({} when missing or unreadable)."""
    try:
        with open(os.path.join(bundle, STATE_FILE)) as handle:
            state = json.load(handle)
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def write_state(bundle, state):
    """Write runcible.json atomically (temporary file, fsync, rename)."""
    fd, temporary = tempfile.mkstemp(prefix='.runcible-', dir=bundle)
    try:
        with os.fdopen(fd, 'w') as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
            handle.write('\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, os.path.join(bundle, STATE_FILE))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def default_layer_cache(store):
    """The layer cache beside an image store: /var/lib/runcible/images -> /var/lib/runcible/layers."""
    return os.path.join(os.path.dirname(os.path.abspath(store).rstrip('/')) or '/', 'layers')


def ensure_rootfs(bundle, layout, digest=None, ref=None, mode='copy', layer_cache=None, check_mode=False,
                  warn=None, verify=False):
    """Make <bundle>/rootfs hold the image named by `digest` (or `ref`) of `layout`; return RootfsResult.

    `layout` is an OCI layout path or OCILayout; `layer_cache` the cache
    directory for overlay mode (default: default_layer_cache(layout path)).
    In `check_mode` nothing is written: the result says what would change.
    `verify` recomputes the digest of an unchanged rootfs instead of
    reporting the recorded one.
    """
    if mode not in MODES:
        raise ConfigError('rootfs_mode', 'must be copy or overlay, not %r' % (mode,))
    bundle = os.path.abspath(bundle)
    if not isinstance(layout, OCILayout):
        layout = OCILayout(layout)
    image = layout.image(digest=digest, ref=ref)
    rootfs = os.path.join(bundle, 'rootfs')
    state = read_state(bundle)
    recorded = state.get('rootfs') or {}
    if mode == 'copy':
        return _ensure_copy(bundle, rootfs, layout, image, recorded, state, check_mode, warn, verify)
    cache = overlay.LayerCache(layer_cache or default_layer_cache(layout.path)) if not check_mode else None
    return _ensure_overlay(bundle, rootfs, layout, image, recorded, state, cache, layer_cache, check_mode, warn, verify)


def _prepare_bundle(bundle):
    # 0700 like umoci: an image's setuid files and devices are no business of other host users.
    os.makedirs(bundle, mode=0o700, exist_ok=True)


def _ensure_copy(bundle, rootfs, layout, image, recorded, state, check_mode, warn, verify):
    current = (recorded.get('mode') == 'copy' and recorded.get('image') == image.digest and os.path.isdir(rootfs)
               and overlay.mount_at(os.path.realpath(rootfs)) is None)
    if current:
        found = recorded.get('digest') if not verify else None
        if not found:
            from ..image.treedigest import tree_digest  # pylint: disable=import-outside-toplevel
            found = tree_digest(rootfs)
        return RootfsResult(False, 'copy', image.digest, rootfs, found)
    if check_mode:
        return RootfsResult(True, 'copy', image.digest, rootfs, None, action='unpack')
    from ..image.treedigest import tree_digest  # pylint: disable=import-outside-toplevel
    from ..image.unpack import unpack_image  # pylint: disable=import-outside-toplevel
    _prepare_bundle(bundle)
    _leave_overlay(bundle, rootfs)
    work = tempfile.mkdtemp(prefix='.rootfs-', dir=bundle)
    try:
        fresh = os.path.join(work, 'rootfs')
        stats = unpack_image(layout, image, fresh, warn=warn)
        digest = tree_digest(fresh)
        if os.path.lexists(rootfs):
            os.rename(rootfs, os.path.join(work, 'old'))
        os.rename(fresh, rootfs)
    finally:
        overlay.remove_dir(work)
    state['rootfs'] = {'mode': 'copy', 'image': image.digest, 'digest': digest}
    write_state(bundle, state)
    return RootfsResult(True, 'copy', image.digest, rootfs, digest, stats.warnings, stats, action='unpack')


def _leave_overlay(bundle, rootfs):
    """Before a copy rootfs replaces an overlay one: unmount it and drop its upper and work directories."""
    if os.path.isdir(rootfs) and overlay.mount_at(os.path.realpath(rootfs)) is not None:
        overlay.unmount(rootfs)
    overlay.remove_dir(os.path.join(bundle, 'overlay'))


def _ensure_overlay(bundle, rootfs, layout, image, recorded, state, cache, cache_path, check_mode, warn, verify):
    same_image = recorded.get('mode') == 'overlay' and recorded.get('image') == image.digest
    if check_mode:
        roots = recorded.get('lower') or []
        mounted = same_image and roots and overlay.overlay_state(rootfs, roots) == 'mounted'
        if mounted:
            return RootfsResult(False, 'overlay', image.digest, rootfs, recorded.get('digest'))
        return RootfsResult(True, 'overlay', image.digest, rootfs, None, action='mount' if same_image else 'unpack')
    roots, stats = cache.ensure(layout, image, warn=warn)
    if not roots:
        roots = [cache.empty_root()]
    upper = os.path.join(bundle, 'overlay', 'upper')
    work = os.path.join(bundle, 'overlay', 'work')
    where = overlay.overlay_state(rootfs, roots) if os.path.isdir(rootfs) else 'unmounted'
    if same_image and where == 'mounted' and recorded.get('lower') == roots:
        digest = _overlay_digest(cache, image, rootfs, upper, verify, recorded.get('digest'))
        return RootfsResult(False, 'overlay', image.digest, rootfs, digest)
    _prepare_bundle(bundle)
    if where != 'unmounted':
        overlay.unmount(rootfs)
    keep_upper = same_image and recorded.get('lower') == roots and os.path.isdir(upper)
    if not keep_upper:
        overlay.remove_dir(os.path.join(bundle, 'overlay'))
        if os.path.lexists(rootfs):
            overlay.remove_dir(rootfs)
        os.makedirs(upper, mode=0o755)
        os.makedirs(work, mode=0o700)
        overlay.copy_dir_attributes(roots[-1], upper)
    os.makedirs(rootfs, mode=0o755, exist_ok=True)
    try:
        overlay.mount_overlay(rootfs, roots, upper, work)
    except OSError as exc:
        raise LayerError('cannot mount the overlay rootfs at %s: %s (overlay mode needs root and overlayfs; use '
                         'rootfs_mode copy otherwise)' % (rootfs, exc.strerror or exc))
    digest = _overlay_digest(cache, image, rootfs, upper, True, None)
    state['rootfs'] = {'mode': 'overlay', 'image': image.digest, 'lower': roots, 'digest': digest,
                       'layer_cache': cache.path}
    write_state(bundle, state)
    return RootfsResult(True, 'overlay', image.digest, rootfs, digest, stats.warnings if stats else (), stats,
                        action='mount' if keep_upper else ('unpack' if stats and stats.layers else 'mount'))


def _overlay_digest(cache, image, rootfs, upper, verify, recorded):
    """The rootfs digest: from the layer cache while the upper directory is empty, else by walking the mount."""
    if not verify and recorded:
        return recorded
    try:
        pristine = not os.listdir(upper)
    except OSError:
        pristine = False
    chain = overlay.chain_ids(overlay.layer_keys(image))
    if pristine and chain:
        cached = cache.tree_digest(chain[-1])
        if cached:
            return cached
    from ..image.treedigest import tree_digest  # pylint: disable=import-outside-toplevel
    digest = tree_digest(rootfs)
    if pristine and chain:
        cache.remember_tree_digest(chain[-1], digest)
    return digest


def remove_rootfs(bundle):
    """Unmount (overlay) and remove <bundle>/rootfs and the overlay directories; forget the record."""
    bundle = os.path.abspath(bundle)
    rootfs = os.path.join(bundle, 'rootfs')
    _leave_overlay(bundle, rootfs)
    overlay.remove_dir(rootfs)
    state = read_state(bundle)
    if state.pop('rootfs', None) is not None and os.path.isdir(bundle):
        write_state(bundle, state)
