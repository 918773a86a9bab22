"""The Train page's settings (and a lesson id) as URL query parameters, so that a link
reproduces a training setup or a lesson, never another session's data (no Streamlit here).

Only settings that differ from the defaults are written, one parameter per setting under its
``train_settings`` key (``arch=shared_bottom&weighting=uncertainty&epochs=8``); task weights
and a weighting method's own settings are ``task:value`` lists (``task_weights=click:2,purchase:1``,
``weighting_params=alpha:0.5``). Reading a link checks every value with ``mtl_core.validate``
and the config dataclasses, within the ranges the Train page's controls allow; a bad value
is dropped with a one-sentence message and its setting keeps its default. The session
parameter ``s`` (``mtl_core.app.sessions``) and share links (``view``) are not touched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .. import validate
from ..config import DEVICES, LR_SCHEDULES, OPTIMIZERS, SPLIT_METHODS, setting_value
from ..errors import ConfigError
from ..models import MODELS
from ..weighting import WEIGHTINGS
from . import state as app_state

LESSON_PARAM = "lesson"
#: query parameters that belong to the app, never to the settings
RESERVED = ("s", "view", LESSON_PARAM)
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class _Field:
    parse: Callable[[str, str], Any]  # (name, text) -> value, or ConfigError


def _int(lo: int, hi: int) -> _Field:
    def parse(name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number; got {text!r}.") from None
        return validate.number(name, value, lo=lo, hi=hi, integer=True)
    return _Field(parse)


def _float(lo: float, hi: float, lo_open: bool = False) -> _Field:
    def parse(name: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number; got {text!r}.") from None
        return float(validate.number(name, value, lo=lo, hi=hi, lo_open=lo_open))
    return _Field(parse)


def _choice(options: Callable[[], tuple]) -> _Field:
    return _Field(lambda name, text: validate.choice(name, text, options()))


def _name(name: str, text: str) -> str:
    if len(text) > 80:
        raise ConfigError(f"{name} must be at most 80 characters; got {len(text)}.")
    return text


def _setting_field(setting) -> _Field:
    """A registry setting's own type and the range its Train page control allows."""
    def parse(name: str, text: str):
        value: Any = text
        if setting.kind in ("int", "float"):
            value = (_int if setting.kind == "int" else _float)(
                -2**31 if setting.lo is None else setting.lo, 2**31 if setting.hi is None else setting.hi).parse(name, text)
        typed = setting_value(setting, value, name)
        return app_state.widget_value(setting, typed)
    return _Field(parse)


def _fields() -> dict[str, _Field]:
    """train_settings key -> how its URL value is read (the Train page's ranges)."""
    fields = {
        "arch": _choice(lambda: tuple(MODELS.names())), "embed_dim": _int(1, 256),
        "weighting": _choice(lambda: tuple(WEIGHTINGS.names())), "optimizer": _choice(lambda: OPTIMIZERS),
        "lr": _float(0, 10, lo_open=True), "batch_size": _int(1, 10_000_000), "epochs": _int(1, 200),
        "lr_schedule": _choice(lambda: LR_SCHEDULES), "warmup_epochs": _float(0, 50),
        "patience": _int(0, 50), "split_method": _choice(lambda: SPLIT_METHODS), "train_frac": _float(0.5, 0.9),
        "val_frac": _float(0.05, 0.3), "seed": _int(0, 2**31 - 1), "device": _choice(lambda: DEVICES),
        "name": _Field(_name),
    }
    for field, setting in app_state.arch_settings().items():
        fields[field] = _setting_field(setting)
    return fields


# --------------------------------------------------------------------------- encode
def _pairs_text(values: Mapping[str, Any]) -> str:
    return ",".join(f"{k}:{v:g}" if isinstance(v, float) else f"{k}:{v}" for k, v in values.items())


def encode_settings(settings: Mapping[str, Any], lesson: str | None = None) -> dict[str, str]:
    """The query parameters of ``settings`` (a Train page ``train_settings`` dict): the
    values that differ from the defaults, plus ``lesson`` when given."""
    base = app_state.default_train_settings()
    out: dict[str, str] = {}
    for key, value in settings.items():
        if key in ("task_weights", "weighting_params") or value is None or key not in _fields():
            continue
        if value != base.get(key) and str(value) != "":
            out[key] = f"{value:g}" if isinstance(value, float) else str(value)
    weights = {t: float(w) for t, w in (settings.get("task_weights") or {}).items() if float(w) != 1.0}
    if weights:
        out["task_weights"] = _pairs_text(weights)
    method = settings.get("weighting", base["weighting"])
    own = {s.field: s.default for s in WEIGHTINGS.info(method).settings} if method in WEIGHTINGS.names() else {}
    chosen = {k: v for k, v in ((settings.get("weighting_params") or {}).get(method) or {}).items()
              if k in own and v != own[k]}
    if chosen:
        out["weighting_params"] = _pairs_text(chosen)
    if lesson:
        out[LESSON_PARAM] = str(lesson)
    return out


# --------------------------------------------------------------------------- decode
def _one(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    return None if value is None else str(value)


def _pairs(name: str, text: str, parse_value: Callable[[str, str], Any]) -> dict[str, Any]:
    out = {}
    for part in validate.split_list(text):
        key, sep, value = part.rpartition(":")
        if not sep or not key.strip():
            raise ConfigError(f"{name} must be a list of name:value pairs, e.g. click:2,purchase:1; got {text!r}.")
        out[key.strip()] = parse_value(f"{name} of {key.strip()!r}", value.strip())
    return out


def _weighting_params(text: str, method: str) -> dict:
    own = {s.field: s for s in WEIGHTINGS.info(method).settings}

    def parse(name: str, value: str):
        field = name.split("'")[1]
        if field not in own:
            raise ConfigError(f"weighting_params: {method} has no setting {field!r} "
                              f"(it has {', '.join(own) or 'none'}).")
        return _setting_field(own[field]).parse(name, value)
    return {method: _pairs("weighting_params", text, parse)} if text else {}


def decode_settings(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the settings a link sets, one message per value that was refused). Unknown
    parameters other than the app's own (``s``, ``view``, ``lesson``) are refused too."""
    fields, settings, problems = _fields(), {}, []
    for key in params:
        if key in RESERVED or key in ("task_weights", "weighting_params"):
            continue
        text = _one(params, key)
        try:
            if key not in fields:
                raise ConfigError(f"{key} is not a Train setting.")
            if text is None or len(text) > MAX_VALUE_CHARS:
                raise ConfigError(f"{key} must be at most {MAX_VALUE_CHARS} characters.")
            settings[key] = fields[key].parse(key, text)
        except ConfigError as exc:
            problems.append(str(exc))
    for key, read in (("task_weights", lambda t: _pairs("task_weights", t, _float(0.0, 5.0).parse)),
                      ("weighting_params", lambda t: _weighting_params(
                          t, settings.get("weighting", app_state.default_train_settings()["weighting"])))):
        text = _one(params, key)
        if text:
            try:
                settings[key] = read(text[:MAX_VALUE_CHARS * 4])
            except ConfigError as exc:
                problems.append(str(exc))
    return settings, _check_together(settings, problems)


def _check_together(settings: dict, problems: list[str]) -> list[str]:
    """Settings fine one by one but not together (train + validation shares >= 1) are dropped."""
    merged = {**app_state.default_train_settings(), **settings}
    if float(merged["train_frac"]) + float(merged["val_frac"]) >= 0.999:
        for key in ("train_frac", "val_frac"):
            settings.pop(key, None)
        problems.append("train_frac + val_frac must leave test rows (sum below 1); both kept their defaults.")
    return problems


def lesson_from(params: Mapping[str, Any], known) -> tuple[str | None, str | None]:
    """(the lesson id a link names, or None; a message when it names an unknown lesson)."""
    text = _one(params, LESSON_PARAM)
    if not text:
        return None, None
    try:
        return validate.choice(LESSON_PARAM, text, tuple(known)), None
    except ConfigError as exc:
        return None, str(exc)


def apply_link(params: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The Train settings a link reproduces: the defaults with the link's values on top
    (a setting the link leaves out was at its default when the link was made), and the
    messages of the refused values; None when the link carries no Train setting. Nothing
    but Train settings is read from ``params``."""
    if not has_settings(params):
        return None, []
    found, problems = decode_settings(params)
    return {**app_state.default_train_settings(), **found}, problems


def has_settings(params: Mapping[str, Any]) -> bool:
    return any(k not in RESERVED for k in params)


def query_string(params: Mapping[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params, safe=":,")
