from typing import Any, Dict, List, Literal, Mapping, Optional, Union

# Engine.report_outcome's result: the error classes of engine/auth/rotation.h, and the short
# form's "success" and "auth_error".
Result = Literal[
    "ok", "rate_limit", "overloaded", "auth", "billing", "timeout", "server_error", "model_not_found",
    "success", "auth_error",
]

class _pybind11_type(type):
    """The metaclass of the extension's classes (pybind11's)."""

class Error(Exception):
    """An engine error; str(e) is the message the modelpin CLI prints."""

class Reply(metaclass=_pybind11_type):
    """A reply to post to the chat; is_error marks a refused command."""
    def __init__(self, text: str, is_error: bool = False) -> None: ...
    @property
    def text(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    def __eq__(self, other: object) -> bool: ...

class RouteCandidate(metaclass=_pybind11_type):
    """A later step of a route's plan: a fallback model and the profiles it would use."""
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def profiles(self) -> List[str]: ...

class Route(metaclass=_pybind11_type):
    """Where the next model call goes."""
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def profiles(self) -> List[str]:
        """Auth profiles to try, in order (the session's pin first); empty: no credential."""
    @property
    def text(self) -> str:
        """What the model receives: directives removed, trimmed."""
    @property
    def thinking(self) -> str:
        """This call's own thinking level ("hello /think high"); "" = the session's."""
    @property
    def rule(self) -> str:
        """The routing rule (config modelpin.routes) that applied; "" = none."""
    @property
    def fallback_from(self) -> str:
        """"provider/model" of the session's model when this call falls back; "" otherwise."""
    @property
    def fallback_reason(self) -> str:
        """Why the call falls back, for people; "" when it does not."""
    @property
    def plan(self) -> List[RouteCandidate]:
        """The models to try after this one (the configured fallbacks), in order."""
    @property
    def missing_credential(self) -> str:
        """When profiles is empty: what to set or store so the call has a credential; else ""."""

class AuthProfile(metaclass=_pybind11_type):
    """A saved auth profile and its health (`modelpin models auth list --json`)."""
    @property
    def id(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def secret(self) -> str:
        """The secret, masked (config modelpin.masking)."""
    @property
    def expires(self) -> Optional[int]:
        """Expiry in ms since the epoch; None: does not expire."""
    @property
    def state(self) -> str:
        """"ok", "cooldown", "model cooldown", "disabled", "expired" or "ineligible"."""
    @property
    def until(self) -> Optional[int]:
        """End of the cooldown or disable, ms since the epoch; None when neither."""
    @property
    def reason(self) -> str: ...
    @property
    def error_count(self) -> int: ...
    @property
    def health(self) -> str:
        """For people: "ok", "cooldown until 2026-12-01T10:00:30Z, 1 error", ..."""

class Outcome(metaclass=_pybind11_type):
    """What Engine.handle decided for one message."""
    @property
    def agent(self) -> str: ...
    @property
    def session_key(self) -> str: ...
    @property
    def replies(self) -> List[Reply]: ...
    @property
    def route(self) -> Optional[Route]: ...
    @property
    def session(self) -> Dict[str, Union[str, bool, int]]:
        """The session's stored fields after this message, OpenClaw's names."""

class Engine(metaclass=_pybind11_type):
    """The modelpin engine: one per process, shared by all threads."""
    def __init__(
        self,
        *,
        config: Optional[str] = None,
        state_dir: Optional[str] = None,
        strict: Optional[bool] = None,
        sessions: Optional[str] = None,
        environment: Optional[Mapping[str, str]] = None,
    ) -> None: ...
    def handle(self, text: str, *, session: str = "", agent: str = "", sender: str = "") -> Outcome: ...
    def report_outcome(
        self,
        agent: str,
        session: str,
        profile: str,
        result: Result,
        *,
        retry_after_ms: int = 0,
        model: str = "",
        input_tokens: Optional[int] = None,
        output_tokens: Optional[int] = None,
        cache_read_tokens: Optional[int] = None,
        cache_write_tokens: Optional[int] = None,
        billed_model: str = "",
        limits: Optional[Mapping[str, Mapping[str, int]]] = None,
        probe: bool = False,
    ) -> None: ...
    def secret_for(self, agent: str, profile: str) -> str: ...
    def resolve_agent(self, agent: str) -> str: ...
    def session(self, session: str, *, agent: str = "") -> Dict[str, Union[str, bool, int]]: ...
    def session_keys(self, *, agent: str = "") -> List[str]: ...
    def session_entry(self, session: str, *, agent: str = "") -> Dict[str, Any]: ...
    def auth_profiles(self, *, agent: str = "", provider: str = "") -> List[AuthProfile]: ...
    def explain(self, ref: str, *, session: str = "", agent: str = "") -> str: ...
    def explain_json(self, ref: str, *, session: str = "", agent: str = "") -> Dict[str, Any]: ...

__all__ = ["AuthProfile", "Engine", "Error", "Outcome", "Reply", "Result", "Route", "RouteCandidate"]
