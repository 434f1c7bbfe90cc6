# -*- coding: utf-8 -*-
# Copyright: runcible developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules of one syscall on one ABI, merged the way libseccomp 2.5 merges them.

runc adds a profile's rules to libseccomp one at a time, and libseccomp folds
them into one decision tree per syscall. What a process finally gets when two
rules overlap or conflict is decided by how that folding works, so this module
reproduces it (its behaviour, checked against libseccomp itself by the unit
tests), rather than a tidier semantics of our own:

- the first rule without arguments wins over every later rule for the syscall;
  a later rule without arguments replaces the earlier rules that had some;
- each argument comparison becomes one to three tests of a 32-bit word (64-bit
  ABIs test the high word, then the low word; 32-bit ABIs only the low word);
- rules with arguments become paths in a tree whose levels are alternatives,
  ordered by argument (higher index first), then by operator (==, !=, masked ==
  first, then <, <=, then >, >=), then by value; the first alternative whose
  path ends in an action decides;
- a rule whose tests reach an existing action stops there (the earlier rule
  wins); a rule that would put a different action where earlier rules already
  have one is refused, as libseccomp refuses it (EEXIST), and runc then fails.

Nodes keep reference counts because libseccomp's pruning decisions depend on
them (a node shared by two paths is not dropped with one of them).
"""

NE, LT, LE, EQ, GE, GT, MASKED_EQ = 1, 2, 3, 4, 5, 6, 7
OPERATORS = {'SCMP_CMP_NE': NE, 'SCMP_CMP_LT': LT, 'SCMP_CMP_LE': LE, 'SCMP_CMP_EQ': EQ,
             'SCMP_CMP_GE': GE, 'SCMP_CMP_GT': GT, 'SCMP_CMP_MASKED_EQ': MASKED_EQ}

WORD = 0xffffffff
ARG_COUNT = 6

# Flags that describe how far an existing tree and a new rule matched.
_MATCH = 0x1
_MATCH_ONCE = 0x2
_MATCHED = _MATCH | _MATCH_ONCE
_X_FINISHED = 0x10
_N_FINISHED = 0x20
_X_PREFIX = 0x100
_N_PREFIX = 0x200
_REDUNDANT = _MATCH | _X_FINISHED | _N_PREFIX


class RuleConflict(Exception):
    """A rule would change an action an earlier rule already set (libseccomp: EEXIST)."""


class RulesLoop(Exception):
    """Merging a rule would loop forever, as libseccomp 2.5's tree code does on the same rules."""


def _visit(seen, node):
    """Note `node` as visited on a walk along one level; a node met twice means the level is a cycle."""
    if id(node) in seen:
        raise RulesLoop()
    seen.add(id(node))
    return node


class Node(object):
    """One 32-bit test: (word at `offset` & mask) <op> datum, with what follows either way."""

    __slots__ = ('arg', 'high', 'offset', 'op', 'op_orig', 'mask', 'datum', 'datum_full',
                 'act_t_set', 'act_t', 'act_f_set', 'act_f', 'prev', 'next', 'on_true', 'on_false', 'refs')

    def __init__(self, arg, high, offset, op, op_orig, mask, datum, datum_full):
        self.arg = arg
        self.high = high
        self.offset = offset
        self.op = op
        self.op_orig = op_orig
        self.mask = mask
        self.datum = datum & mask
        self.datum_full = datum_full
        self.act_t_set = False
        self.act_t = 0
        self.act_f_set = False
        self.act_f = 0
        self.prev = None
        self.next = None
        self.on_true = None
        self.on_false = None
        self.refs = 0


class Syscall(object):
    """The rules of one syscall: `tree` (a level of Nodes) or, without one, `action`."""

    __slots__ = ('tree', 'action')

    def __init__(self, tree, action):
        self.tree = tree
        self.action = action


class _Cell(object):
    """A pointer libseccomp would pass by address: `node` may be replaced by the callee."""

    __slots__ = ('node',)

    def __init__(self, node):
        self.node = node


class _Field(object):
    """A node field (or Syscall.tree) seen as a _Cell."""

    __slots__ = ('owner', 'name')

    def __init__(self, owner, name):
        self.owner = owner
        self.name = name

    @property
    def node(self):
        return getattr(self.owner, self.name)

    @node.setter
    def node(self, value):
        setattr(self.owner, self.name, value)


class _Walk(object):
    __slots__ = ('flags', 'action', 'syscall')

    def __init__(self, flags=0, action=0, syscall=None):
        self.flags = flags
        self.action = action
        self.syscall = syscall

    def copy(self):
        return _Walk(self.flags, self.action, self.syscall)


def _hold(node):
    if node is not None:
        node.refs += 1
    return node


def _is_leaf(node):
    return node.on_true is None and node.on_false is None


def _is_zombie(node):
    return _is_leaf(node) and not node.act_t_set and not node.act_f_set


def _level_start(node):
    seen = set()
    while node.prev is not None:
        node = _visit(seen, node).prev
    return node


def _release(cell):
    """Drop one reference; a node that loses its last one leaves its level and frees its subtrees."""
    node = cell.node
    if node is None:
        return 0
    node.refs -= 1
    if node.refs:
        return 0
    before, after = _Cell(node.prev), _Cell(node.next)
    if before.node is not None:
        before.node.next = None
    if after.node is not None:
        after.node.prev = None
    count = _release(before) if before.node is not None else 0
    count += _release(after) if after.node is not None else 0
    if before.node is not None:
        before.node.next = _hold(after.node)
    if after.node is not None:
        after.node.prev = _hold(before.node)
    cell.node = before.node if before.node is not None else after.node
    count += _release_tree(_Cell(node.on_true))
    count += _release_tree(_Cell(node.on_false))
    return count + 1


def _release_tree(cell):
    count = _release(cell)
    if cell.node is not None:
        count += _drop_unreferenced_level(cell.node)
    return count


def _drop_unreferenced_level(node):
    """Free a whole level when nothing outside it refers to any of its nodes."""
    start = node = _level_start(node)
    seen = set()
    while node is not None:
        _visit(seen, node)
        links = (node.prev is not None) + (node.next is not None)
        if node.refs > links:
            return 0
        node = node.next
    count = 0
    cell = _Cell(start)
    while cell.node is not None:
        count += _release(cell)
    return count


def _remove(tree, target):
    """Cut `target` (and nodes left without any action) out of the tree in `tree`."""
    if tree.node is None or target is None:
        return 0
    count = 0
    node = _level_start(tree.node)
    seen = set()
    while True:
        _visit(seen, node)
        if node is target:
            break
        count += _remove(_Field(node, 'on_true'), target)
        count += _remove(_Field(node, 'on_false'), target)
        if _is_zombie(node):
            break
        node = node.next
        if node is None or count:
            return count
    if node is tree.node:
        tree.node = node.prev if node.prev is not None else node.next
    if node.prev is not None:
        node.prev.next = node.next
    if node.next is not None:
        node.next.prev = node.prev
    node.prev = node.next = None
    return count + _release(_Cell(node))


def _all_actions_are(tree, action):
    node = tree
    if node is None:
        return True
    node = _level_start(node)
    seen = set()
    while node is not None:
        _visit(seen, node)
        if node.act_t_set and node.act_t != action:
            return False
        if node.act_f_set and node.act_f != action:
            return False
        if not _all_actions_are(node.on_true, action) or not _all_actions_are(node.on_false, action):
            return False
        node = node.next
    return True


def _same_test(a, b):
    return ((a.arg, a.high, a.op, a.datum, a.mask) == (b.arg, b.high, b.op, b.datum, b.mask))


_OP_RANK = {MASKED_EQ: 3, EQ: 3, NE: 3, LE: 2, LT: 2, GE: 1, GT: 1}


def _ranks_below(a, b):
    """True when `a` ranks below `b`: levels keep their nodes in descending rank."""
    a_arg, b_arg = (a.arg << 1) + a.high, (b.arg << 1) + b.high
    if a_arg != b_arg:
        return a_arg < b_arg
    a_rank, b_rank = _OP_RANK[a.op_orig], _OP_RANK[b.op_orig]
    if a_rank != b_rank:
        return a_rank < b_rank
    if a.op_orig in (LE, LT):
        return a.datum > b.datum
    return a.datum < b.datum


def _prune(existing, new, walk):
    """Remove parts of the existing tree that the new (shorter) rule makes redundant.

    Returns the number of nodes freed and records in `walk.flags` how the new
    rule matched the existing tree.
    """
    count = 0
    result = walk.copy()
    node = existing.node
    if new is None or node is None:
        return _prune_return(walk, result, count)
    # A path that matched once and then left the match is not matched again.
    if (walk.flags & _MATCHED) == _MATCH_ONCE:
        return _prune_return(walk, result, count)
    node = _level_start(node)
    seen = set()
    while node is not None:
        _visit(seen, node)
        following = node.next
        if _same_test(node, new):
            result.flags |= _MATCHED
            if _is_leaf(new):
                result.flags |= _N_FINISHED
            if _is_leaf(node):
                result.flags |= _X_FINISHED
            if (node.act_t_set or node.on_true) and not (new.act_t_set or new.on_true):
                return _prune_return(walk, result, count)
            if (node.act_f_set or node.on_false) and not (new.act_f_set or new.on_false):
                return _prune_return(walk, result, count)
            if result.flags & _N_FINISHED and result.flags & _X_FINISHED:
                if ((new.act_t_set, new.act_t, new.act_f_set, new.act_f)
                        != (node.act_t_set, node.act_t, node.act_f_set, node.act_f)):
                    return _prune_return(walk, result, count)
            gone = False
            for branch in ('on_true', 'on_false'):
                if getattr(new, branch) is None:
                    continue
                _hold(node)
                deeper = walk.copy()
                deeper.flags |= _MATCHED
                count += _prune(_Field(node, branch), getattr(new, branch), deeper)
                cell = _Cell(node)
                count += _release(cell)
                node = cell.node
                if deeper.flags & _MATCH:
                    result.flags |= deeper.flags
                if node is None:
                    gone = True
                    break
            if gone:
                node = following
                continue
            agrees = _all_actions_are(node, result.action)
            if agrees and result.flags & _MATCH and result.flags & _N_FINISHED and result.flags & _X_PREFIX:
                count += _remove(_Field(walk.syscall, 'tree'), node)
                if walk.syscall.tree is None:
                    return _prune_return(walk, result, count)
            elif agrees and result.flags & _MATCH and result.flags & _X_FINISHED and result.flags & _N_PREFIX:
                return _prune_return(walk, result, count)
        elif _ranks_below(node, new):
            if walk.flags & _N_PREFIX:
                return _prune_return(walk, result, count)
            for branch in ('on_true', 'on_false'):
                if getattr(node, branch) is None:
                    continue
                _hold(node)
                deeper = walk.copy()
                deeper.flags &= ~_MATCH
                deeper.flags |= _X_PREFIX
                count += _prune(_Field(node, branch), new, deeper)
                cell = _Cell(node)
                count += _release(cell)
                node = cell.node
                if deeper.flags & _MATCH:
                    result.flags |= deeper.flags
                    return _prune_return(walk, result, count)
                if node is None:
                    break
        else:
            if walk.flags & _X_PREFIX:
                return _prune_return(walk, result, count)
            for branch in ('on_true', 'on_false'):
                if getattr(new, branch) is None:
                    continue
                _hold(node)
                deeper = walk.copy()
                deeper.flags &= ~_MATCH
                deeper.flags |= _N_PREFIX
                count += _prune(_Cell(node), getattr(new, branch), deeper)
                cell = _Cell(node)
                count += _release(cell)
                node = cell.node
                if deeper.flags & _MATCH:
                    result.flags |= deeper.flags
                    return _prune_return(walk, result, count)
                if node is None:
                    break
        node = following
    result.flags &= ~_MATCH
    return _prune_return(walk, result, count)


def _prune_return(walk, result, count):
    if result.flags & _MATCH:
        walk.flags |= result.flags
    else:
        walk.flags &= ~_MATCH
    return count


def _merge(existing, new):
    """Fold the new rule's tree into the existing one (libseccomp's tree add)."""
    node = existing.node
    seen = set()
    while node is not None:
        _visit(seen, node)
        if _same_test(node, new):
            _merge_action(node, new, 'on_true', 'act_t_set', 'act_t', lambda n, x: n.datum_full > x.datum_full)
            _merge_action(node, new, 'on_false', 'act_f_set', 'act_f', lambda n, x: n.datum_full < x.datum_full)
            for branch, flag in (('on_true', 'act_t_set'), ('on_false', 'act_f_set')):
                follow = getattr(new, branch)
                if follow is None:
                    continue
                if getattr(node, branch) is not None:
                    _merge(_Field(node, branch), follow)
                elif not getattr(node, flag):
                    setattr(node, branch, _hold(follow))
                else:
                    return
            return
        if not _ranks_below(node, new):
            if node.next is None:
                new.prev = _hold(node)
                node.next = _hold(new)
                return
            node = node.next
            continue
        if node.prev is not None:
            node.prev.next = _hold(new)
            new.prev = node.prev
            node.prev = _hold(new)
            new.next = node
        else:
            node.prev = _hold(new)
            new.next = _hold(node)
        if existing.node is node:
            existing.node = _hold(new)
            _release(_Cell(node))
        return


def _merge_action(node, new, branch, flag, action, new_wins):
    if not getattr(new, flag):
        return
    if not getattr(node, flag):
        if not _all_actions_are(getattr(node, branch), getattr(new, action)):
            raise RuleConflict()
        _release(_Field(node, branch))
        setattr(node, branch, None)
        setattr(node, action, getattr(new, action))
        setattr(node, flag, True)
    elif getattr(new, action) != getattr(node, action):
        # libseccomp lets the rule with the wider 64-bit bound win on the high
        # word, and (a slip it has) always writes the true-branch action.
        if new.high and new_wins(new, node):
            node.act_t = new.act_t
        if _is_leaf(node) or _is_leaf(new):
            raise RuleConflict()


class WordLayout(object):
    """Where the 32-bit halves of each syscall argument sit in struct seccomp_data."""

    def __init__(self, bits, big_endian):
        self.bits = bits
        self.big_endian = big_endian

    def low(self, arg):
        return 16 + 8 * arg + (4 if self.big_endian else 0)

    def high(self, arg):
        return 16 + 8 * arg + (0 if self.big_endian else 4)


def build_chain(conditions, action, layout):
    """The tree of one rule: `conditions` maps argument index -> (op, mask, datum) (64-bit values)."""
    if layout.bits == 64:
        return _chain_64(conditions, action, layout)
    return _chain_32(conditions, action, layout)


def _chain_64(conditions, action, layout):
    head = None
    last = None
    last_op = None
    for arg in range(ARG_COUNT):
        if arg not in conditions:
            continue
        op, mask, datum = conditions[arg]
        if op == MASKED_EQ and mask == 0:
            continue
        hi_mask, lo_mask = mask >> 32, mask & WORD
        hi_datum, lo_datum = datum >> 32, datum & WORD
        if op in (GT, GE, LE, LT):
            above = Node(arg, True, layout.high(arg), GT, op, hi_mask, hi_datum, datum)
            equal = Node(arg, True, layout.high(arg), EQ, op, hi_mask, hi_datum, datum)
            low_op = GT if op in (GT, LE) else GE
            low = Node(arg, False, layout.low(arg), low_op, op, lo_mask, lo_datum, datum)
            above.on_false = _hold(equal)
            equal.on_true = _hold(low)
            level = (above, equal, low)
        else:
            word_op = MASKED_EQ if op == MASKED_EQ else EQ
            high = Node(arg, True, layout.high(arg), word_op, op, hi_mask, hi_datum, datum)
            low = Node(arg, False, layout.low(arg), word_op, op, lo_mask, lo_datum, datum)
            high.on_true = _hold(low)
            level = (high, low, None)
        if last is None:
            head = _hold(level[0])
        elif last_op in (GT, GE):
            last[0].on_true = _hold(level[0])
            last[2].on_true = _hold(level[0])
        elif last_op in (EQ, MASKED_EQ):
            last[1].on_true = _hold(level[0])
        elif last_op in (LE, LT):
            last[1].on_false = _hold(level[0])
            last[2].on_false = _hold(level[0])
        else:
            last[0].on_false = _hold(level[0])
            last[1].on_false = _hold(level[0])
        last, last_op = level, op
    if last is not None:
        if last_op in (GT, GE):
            _set_true(last[0], action)
            _set_true(last[2], action)
        elif last_op in (LE, LT):
            _set_false(last[1], action)
            _set_false(last[2], action)
        elif last_op in (EQ, MASKED_EQ):
            _set_true(last[1], action)
        else:
            _set_false(last[0], action)
            _set_false(last[1], action)
    return head


# On 32-bit ABIs each comparison is one test; !=, < and <= are tested as their
# opposites (==, >=, >) and act when the test fails.
_NEGATED_32 = {NE: EQ, LT: GE, LE: GT}


def _chain_32(conditions, action, layout):
    head = None
    last = None
    on_true = True
    for arg in range(ARG_COUNT):
        if arg not in conditions:
            continue
        op, mask, datum = conditions[arg]
        if op == MASKED_EQ and (mask & WORD) == 0:
            continue
        node = Node(arg, False, layout.low(arg), _NEGATED_32.get(op, op), op, mask & WORD, datum & WORD, datum)
        if last is None:
            head = _hold(node)
        elif on_true:
            last.on_true = _hold(node)
        else:
            last.on_false = _hold(node)
        on_true = op not in _NEGATED_32
        last = node
    if last is not None:
        if on_true:
            _set_true(last, action)
        else:
            _set_false(last, action)
    return head


def _set_true(node, action):
    node.act_t_set = True
    node.act_t = action


def _set_false(node, action):
    node.act_f_set = True
    node.act_f = action


def add_rule(syscalls, key, tree, action):
    """Fold a rule (its `tree` from build_chain, or None) into `syscalls[key]`.

    Raises RuleConflict where libseccomp would refuse the rule.
    """
    entry = syscalls.get(key)
    if entry is None:
        syscalls[key] = Syscall(tree, action)
        return
    removed_some = False
    while True:
        if entry.tree is None:
            if removed_some:
                entry.tree = tree
                entry.action = action
            return
        if tree is None:
            _release_tree(_Field(entry, 'tree'))
            entry.tree = None
            entry.action = action
            return
        walk = _Walk(action=action, syscall=entry)
        if _prune(_Field(entry, 'tree'), tree, walk) > 0:
            removed_some = True
            if entry.tree is None:
                continue
        elif (walk.flags & _REDUNDANT) == _REDUNDANT:
            return
        _merge(_Field(entry, 'tree'), tree)
        _release_tree(_Cell(tree))
        return
