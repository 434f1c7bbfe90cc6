# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What oci_image does: bring one image reference in the store to the wanted state.

    present, no import_from   pull (the library's HEAD check makes an unchanged tag
                              `changed: false`); check mode asks the registry whether
                              a pull would change anything and downloads nothing
    present, import_from      import an archive or folder; check mode imports into a
                              temporary store (removed afterwards) to learn the digest
                              the import would give, and compares
    absent                    forget the reference and collect unreferenced blobs

`ensure_image(params, check_mode)` takes the module's parameters and returns
the result dict (without `diff` unless asked); library errors propagate,
tagged with the parameter at fault (failures.py).
"""

from ..image import reference as references
from ..image.errors import ArchiveError, AuthError, ImageNotFound, PlatformNotFound, StoreError, UnsupportedImage
from ..image.registry import Registry
from ..image.store import Store
from .failures import about
from .scratch import scratch_store

REGISTRY_OPTIONS = ('insecure', 'ca_file', 'username', 'password', 'auth_file', 'mirrors', 'timeout')


def ensure_image(params, check_mode=False, diff=False):
    """Converge the reference params['name'] in params['store']; return the module result."""
    ref = str(references.parse(params['name'], field='name'))
    store = Store(params['store'])
    with about('store', ((StoreError, 'store'),)):
        before = store.lookup(ref) if store.exists() else None
    if params['state'] == 'absent':
        result = _remove(store, ref, before, check_mode)
    elif params.get('import_from'):
        result = _import(store, ref, params, check_mode)
    else:
        result = _pull(store, ref, params, check_mode)
    if diff:
        after = None if params['state'] == 'absent' else {'reference': ref, 'digest': result.get('digest')}
        if after is not None and result.get('resolved_digest') not in (None, result.get('digest')):
            after['resolved_digest'] = result['resolved_digest']
        result['diff'] = {'before': _diff_side(before, ref), 'after': after or {}}
    return result


def _diff_side(entry, ref):
    if entry is None:
        return {}
    side = {'reference': ref, 'digest': entry['digest']}
    resolved = (entry.get('annotations') or {}).get('io.runcible.image.resolved-digest')
    if resolved:
        side['resolved_digest'] = resolved
    return side


def _described(store, ref, changed, **extra):
    """The result for an image that is in the store: digest, config, size, platform, layers."""
    info = store.image_info(ref)
    result = {'changed': changed, 'reference': info['reference'], 'digest': info['digest'],
              'resolved_digest': info['resolved_digest'], 'media_type': info['media_type'],
              'platform': info['platform'], 'config': info['config'], 'config_digest': info['config_digest'],
              'layers': info['layers'], 'size': info['size']}
    result.update(extra)
    return result


def _unknown(ref, changed, **extra):
    """The result when the image is not in the store (check mode): what is known without fetching it."""
    result = {'changed': changed, 'reference': ref, 'digest': None, 'resolved_digest': None, 'media_type': None,
              'platform': {}, 'config': {}, 'config_digest': None, 'layers': [], 'size': 0}
    result.update(extra)
    return result


# -- pull ---------------------------------------------------------------------

def _registry(store, params):
    options = {key: params.get(key) for key in REGISTRY_OPTIONS if params.get(key) is not None}
    return Registry(store, **options)


def _credential_parameter(params):
    if params.get('username') or params.get('password'):
        return 'username/password'
    return 'auth_file' if params.get('auth_file') else 'username/password'


def _pull(store, ref, params, check_mode):
    blame = ((AuthError, _credential_parameter(params)), (PlatformNotFound, 'platform'), (StoreError, 'store'))
    with about('name', blame), _registry(store, params) as registry:
        if check_mode:
            if registry.is_current(ref, params.get('platform')):
                return _described(store, ref, False)
            return _unknown(ref, True, resolved_digest=registry.resolve(ref))
        pulled = registry.pull(ref, platform=params.get('platform'), force=bool(params.get('force')))
        return _described(store, pulled['reference'], pulled['changed'], downloaded_blobs=pulled['downloaded_blobs'],
                          downloaded_bytes=pulled['downloaded_bytes'])


# -- import -------------------------------------------------------------------

def _import_into(store, ref, params):
    blame = ((ArchiveError, 'import_from'), (UnsupportedImage, 'import_from'), (ImageNotFound, 'source_ref'),
             (PlatformNotFound, 'platform'), (StoreError, 'store'))
    # Imported here: a pull or a removal does not need the importers (tarfile and the decompressors).
    from ..image import importers  # pylint: disable=import-outside-toplevel
    with about('import_from', blame):
        return importers.import_image(store, params['import_from'], reference=ref, fmt=params.get('import_format'),
                                      source_ref=params.get('source_ref'), platform=params.get('platform'),
                                      image_config=params.get('image_config'))


def _import(store, ref, params, check_mode):
    if not check_mode:
        imported = _import_into(store, ref, params)
        return _described(store, imported['reference'], imported['changed'], format=imported['format'])
    with scratch_store() as scratch:
        imported = _import_into(scratch, ref, params)
        current = store.lookup(ref) if store.exists() else None
        if current is not None and current['digest'] == imported['digest'] and not store.missing_blobs(current):
            return _described(store, ref, False, format=imported['format'])
        return _described(scratch, ref, True, format=imported['format'])


# -- absent -------------------------------------------------------------------

def _remove(store, ref, before, check_mode):
    if before is None:
        return _unknown(ref, False, removed_blobs=0, freed_bytes=0)
    digest = before['digest']
    if check_mode:
        return _unknown(ref, True, digest=digest, removed_blobs=0, freed_bytes=0)
    with about('store'):
        store.remove(ref)
        collected = store.gc()
    return _unknown(ref, True, digest=digest, removed_blobs=len(collected['removed']), freed_bytes=collected['freed_bytes'])
