"""modelpin: in-session model pinning for chat bots (OpenClaw's /model command family).

    import modelpin
    engine = modelpin.Engine(state_dir="state")
    out = engine.handle(text, session=chat_id, sender=user)
    for reply in out.replies:
        send(reply.text)
    if out.route:                      # an ordinary message: call the model
        secret = engine.secret_for("main", out.route.profiles[0])
        ...
        engine.report_outcome("main", out.session_key, out.route.profiles[0], "success")

Engine calls release the GIL; one Engine serves many threads. Errors raise modelpin.Error with
the message the modelpin CLI prints (file, JSON path, line:column).
"""
from . import _modelpin
from ._modelpin import Error, Outcome, Reply, Route


class Engine(_modelpin.Engine):
    __doc__ = _modelpin.Engine.__doc__

    def handle(self, text, *, session="", agent="", sender=""):
        return self._handle(text, session, agent, sender)

    handle.__doc__ = _modelpin.Engine._handle.__doc__


__all__ = ["Engine", "Error", "Outcome", "Reply", "Route"]
