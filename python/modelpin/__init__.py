"""modelpin: in-session model pinning for chat bots (OpenClaw's /model command family).

    import modelpin
    engine = modelpin.Engine(state_dir="state")
    out = engine.handle(text, session=chat_id, sender=user)
    for reply in out.replies:
        send(reply.text)
    if out.route and not out.route.profiles:   # no credential: say what to do
        send(out.route.missing_credential)
    elif out.route:                           # an ordinary message: call the model
        profile = out.route.profiles[0]
        secret = engine.secret_for(out.agent, profile)
        ...
        engine.report_outcome(out.agent, out.session_key, profile, "rate_limit", retry_after_ms=30_000)

Engine calls release the GIL; one Engine serves many threads. Errors raise modelpin.Error with
the message the modelpin CLI prints (file, JSON path, line:column). docs/python.md has the API.
"""
import json as _json
import typing as _typing

from . import _modelpin
from ._modelpin import AuthProfile, Error, Outcome, Reply, Route, RouteCandidate

# Engine.report_outcome's result: the error classes of engine/auth/rotation.h (CallReport), and
# the short form's "success" and "auth_error".
Result = _typing.Literal[
    "ok", "rate_limit", "overloaded", "auth", "billing", "timeout", "server_error", "model_not_found",
    "success", "auth_error",
]


class Engine(_modelpin.Engine):
    __doc__ = _modelpin.Engine.__doc__

    def handle(self, text, *, session="", agent="", sender=""):
        return self._handle(text, session, agent, sender)

    handle.__doc__ = _modelpin.Engine._handle.__doc__

    def session_entry(self, session, *, agent=""):
        """The session's entry exactly as stored (OpenClaw's fields, plugin fields, modelpin's pin
        history), as `modelpin sessions show --json` prints it under "entry"; {} when none."""
        return _json.loads(self._session_entry(session, agent))

    def explain(self, ref, *, session="", agent=""):
        """How a /model reference resolves, step by step, and the auth profiles a call on the
        result would try, with why: the text of `modelpin explain REF`. Changes nothing."""
        return self._explain(ref, session, agent, False)

    def explain_json(self, ref, *, session="", agent=""):
        """The same as a dict: `modelpin explain REF --json`."""
        return _json.loads(self._explain(ref, session, agent, True))


__all__ = ["AuthProfile", "Engine", "Error", "Outcome", "Reply", "Result", "Route", "RouteCandidate"]
