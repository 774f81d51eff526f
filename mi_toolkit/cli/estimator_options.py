"""``--estimator-option KEY=VALUE``: set a field of the chosen estimator's config from the command line.

:func:`build_config` is pure: a config dataclass and the option strings in, a config instance out. Each
key must be a field of the config (``probe.penalties`` reaches a nested config's field) and each value is
parsed to the field's annotated type: ``int``, ``float``, ``bool`` (true/false, yes/no, on/off, 1/0),
``str``, ``None`` (``none``, for an optional field) and tuples as comma lists (``penalties=0.01,0.1``).
Anything else is one :class:`~predgen_common.errors.UserError` line naming the valid keys or the type the
field takes. :func:`estimator_config` looks the config class up in the registry (which imports torch:
call it after the light checks, before any weights load).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Mapping, Optional, Sequence

from predgen_common.errors import UserError

FLAG = "--estimator-option"
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null")


def split_options(pairs: Optional[Sequence[str]]) -> dict[str, str]:
    """``["k=v", ...]`` -> ``{k: v}`` (syntax only, no config needed): a missing ``=``, an empty key or a
    key given twice is one line."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{FLAG} {pair!r}: write KEY=VALUE, e.g. {FLAG} folds=10")
        if key in out:
            raise UserError(f"{FLAG} {key} is given twice ({out[key]!r} and {value!r}); give it once")
        out[key] = value.strip()
    return out


def build_config(config_cls: type, pairs: Optional[Sequence[str]], *, owner: str = "the estimator",
                 exclude: Mapping[str, str] | None = None) -> Any:
    """``config_cls()`` with the fields ``pairs`` (``KEY=VALUE`` strings) set, each value parsed to the
    field's type. ``exclude``: ``{key: why}`` for fields the command sets by an option of its own."""
    options = split_options(pairs)
    for key in options:
        if exclude and key in exclude:
            raise UserError(f"{FLAG} {key}: {exclude[key]}")
    return _apply(config_cls(), options, owner, prefix="")


def _apply(config: Any, options: Mapping[str, str], owner: str, prefix: str) -> Any:
    """``config`` with ``options`` (keys relative to it) replaced; dotted keys recurse into nested configs."""
    hints = typing.get_type_hints(type(config))
    names = [f.name for f in dataclasses.fields(config) if f.init]
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, str]] = {}
    for key, text in options.items():
        head, dot, rest = key.partition(".")
        if head not in names or (dot and not dataclasses.is_dataclass(getattr(config, head))):
            raise UserError(f"{FLAG} {prefix}{key}: {owner}'s config ({type(config).__name__}) has no such field; "
                            f"valid keys: {', '.join(valid_keys(type(config), prefix))}")
        if dot:
            nested.setdefault(head, {})[rest] = text
        else:
            changes[head] = parse_value(text, hints[head], f"{prefix}{key}")
    for head, sub in nested.items():
        changes[head] = _apply(changes.get(head, getattr(config, head)), sub, owner, prefix=f"{prefix}{head}.")
    return dataclasses.replace(config, **changes)


def valid_keys(config_cls: type, prefix: str = "") -> list[str]:
    """The keys ``--estimator-option`` accepts for ``config_cls``: its fields, a nested config's as ``name.*``."""
    keys = []
    for f in dataclasses.fields(config_cls):
        if f.init:
            nested = dataclasses.is_dataclass(typing.get_type_hints(config_cls).get(f.name))
            keys.append(f"{prefix}{f.name}{'.*' if nested else ''}")
    return keys


def parse_value(text: str, tp: Any, key: str) -> Any:
    """``text`` as a value of the annotated type ``tp`` (see the module docstring); one line if it is not."""
    if not spellable(tp):
        raise UserError(f"{FLAG} {key}: a {tp} cannot be written on the command line; set it through the API's "
                        "config= (docs/api.md)")
    value = _parse(text.strip(), tp)
    if value is _BAD:
        raise UserError(f"{FLAG} {key}={text}: {key} takes {type_words(tp)}, not {text!r}")
    return value


def spellable(tp: Any) -> bool:
    """Whether a value of ``tp`` can be written as one option: scalars, optional ones, flat comma lists."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return all(spellable(a) for a in args if a is not type(None))
    if origin is tuple:
        return all(a is Ellipsis or (typing.get_origin(a) is not tuple and spellable(a)) for a in args)
    return origin is typing.Literal or tp in (bool, int, float, str)


_BAD = object()  # "does not parse as that type" (None is a value)


def _parse(text: str, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.lower() in _NONE:
            return None
        for arg in (a for a in args if a is not type(None)):
            value = _parse(text, arg)
            if value is not _BAD:
                return value
        return _BAD
    if origin is tuple:
        return _parse_tuple(text, args)
    if origin is typing.Literal:
        return next((a for a in args if str(a) == text), _BAD)
    if tp is bool:
        low = text.lower()
        return True if low in _TRUE else False if low in _FALSE else _BAD
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            return _BAD
    if tp is str:
        return text
    return _BAD


def _parse_tuple(text: str, args: tuple) -> Any:
    """``a,b,c`` as ``tuple[X, ...]`` (any length) or ``tuple[X, Y]`` (that many items); empty: ``()``."""
    items = [t.strip() for t in text.split(",")] if text.strip() else []
    if len(args) == 2 and args[1] is Ellipsis:
        kinds = [args[0]] * len(items)
    elif len(items) == len(args):
        kinds = list(args)
    else:
        return _BAD
    values = [_parse(t, k) for t, k in zip(items, kinds)]
    return _BAD if any(v is _BAD for v in values) else tuple(values)


def type_words(tp: Any) -> str:
    """How a type is named in an error line: ``an int``, ``a comma list of floats``, ``a float or none``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        words = [type_words(a) for a in args if a is not type(None)]
        return " or ".join(words + (["none"] if type(None) in args else []))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a comma list of {_plural(args[0])}"
        return f"a comma list of {len(args)} values"
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    names = {bool: "true or false", int: "an int", float: "a float", str: "a string"}
    return names.get(tp, f"a {getattr(tp, '__name__', tp)}")


def _plural(tp: Any) -> str:
    names = {int: "ints", float: "floats", str: "strings", bool: "true/false values"}
    if tp in names:
        return names[tp]
    return f"({type_words(tp)})"


def check_options(name: Optional[str], pairs: Optional[Sequence[str]]) -> None:
    """What needs no config (light: before torch loads): the ``KEY=VALUE`` syntax, and an estimator named.
    Options need a named estimator: the default depends on the labels, and so would the keys."""
    split_options(pairs)
    if pairs and name is None:
        raise UserError(f"{FLAG} sets fields of one estimator's config; name it with --estimator (e.g. "
                        f"--estimator probe {FLAG} {pairs[0]}; see docs/estimators.md)")


def estimator_config(name: Optional[str], pairs: Optional[Sequence[str]], *,
                     exclude: Mapping[str, str] | None = None) -> Any:
    """The config of estimator ``name`` with ``pairs`` set, or None when no option was given (the estimator's
    defaults, chosen by the library)."""
    check_options(name, pairs)
    if not pairs:
        return None
    from mi_toolkit.estimators import ESTIMATORS  # torch: after the light checks

    spec = ESTIMATORS.get(name)
    return build_config(spec.config_cls, pairs, owner=name, exclude=exclude)
